import { describe, expect, it } from 'vitest';
import type { Manifest } from '../manifest.ts';
import { extractFeatures } from './features.ts';

const image = (height: number, width: number): Pick<Manifest, 'inputs' | 'features'> => ({
  inputs: [{ name: 'image', dtype: 'float32', shape: [-1, height, width, 1] }],
  features: {
    features: [
      { name: 'ink', kind: 'numeric', source: { stat: 'ink' } },
      { name: 'faint', kind: 'numeric', source: { stat: 'ink', threshold: 0.1 } },
      { name: 'mean', kind: 'numeric', source: { stat: 'mean' } },
      { name: 'std', kind: 'numeric', source: { stat: 'std' } },
      { name: 'cx', kind: 'numeric', source: { stat: 'centroid_x' } },
      { name: 'cy', kind: 'numeric', source: { stat: 'centroid_y' } },
      { name: 'first', kind: 'numeric', source: { index: 0 } },
      { name: 'past', kind: 'numeric', source: { index: 99 } },
      { name: 'country', kind: 'categorical' },
    ],
  },
});

describe('extractFeatures', () => {
  it('computes each sourced statistic of a 2×4 image and leaves app features out', () => {
    // Row 0: 0 0 1 0.2 ; row 1: 0 0 1 0.2 → mass at columns 2 and 3, evenly over both rows.
    const input = new Float32Array([0, 0, 1, 0.2, 0, 0, 1, 0.2]);
    const row = extractFeatures(image(2, 4), input);
    const mean = 2.4 / 8;
    expect(row.ink).toBe(2 / 8);
    expect(row.faint).toBe(4 / 8);
    expect(row.mean).toBeCloseTo(mean, 6);
    const variance = (2 * (1 - mean) ** 2 + 2 * (0.2 - mean) ** 2 + 4 * mean ** 2) / 8;
    expect(row.std).toBeCloseTo(Math.sqrt(variance), 6);
    expect(row.cx).toBeCloseTo((2 * 2.5 + 0.4 * 3.5) / 2.4 / 4, 6);
    expect(row.cy).toBeCloseTo(0.5, 6);
    expect(row.first).toBe(0);
    expect(row.past).toBeNull();
    expect('country' in row).toBe(false);
  });

  it('answers null for the centroid of a blank image or of an input that is not an image', () => {
    expect(extractFeatures(image(2, 4), new Float32Array(8)).cx).toBeNull();
    const flat = { ...image(2, 4), inputs: [{ name: 'x', dtype: 'float32' as const, shape: [-1, 8] }] };
    expect(extractFeatures(flat, new Float32Array(8).fill(1)).cy).toBeNull();
  });
});
