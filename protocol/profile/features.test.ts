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

  it('reads one channel of an NHWC or NCHW image for mean and std, and the norm of the whole input', () => {
    // 2×2 RGB, NHWC: red 0.1 0.2 0.3 0.4, green all 0.5, blue 0 1 0 1.
    const nhwc = new Float32Array([0.1, 0.5, 0, 0.2, 0.5, 1, 0.3, 0.5, 0, 0.4, 0.5, 1]);
    const rgb = (axis?: number): Pick<Manifest, 'inputs' | 'features'> => ({
      inputs: [{ name: 'x', dtype: 'float32', shape: axis === 1 ? [-1, 3, 2, 2] : [-1, 2, 2, 3] }],
      features: {
        features: [
          { name: 'red', kind: 'numeric', source: { stat: 'mean', channel: 0, ...(axis ? { axis } : {}) } },
          { name: 'green_std', kind: 'numeric', source: { stat: 'std', channel: 1, ...(axis ? { axis } : {}) } },
          { name: 'blue', kind: 'numeric', source: { stat: 'mean', channel: 2, ...(axis ? { axis } : {}) } },
          { name: 'none', kind: 'numeric', source: { stat: 'mean', channel: 3 } },
          { name: 'norm', kind: 'numeric', source: { stat: 'l2' } },
        ],
      },
    });
    const row = extractFeatures(rgb(), nhwc);
    expect(row.red).toBeCloseTo(0.25, 6);
    expect(row.green_std).toBeCloseTo(0, 6);
    expect(row.blue).toBeCloseTo(0.5, 6);
    expect(row.none).toBeNull();
    expect(row.norm).toBeCloseTo(Math.sqrt([...nhwc].reduce((a, x) => a + x * x, 0)), 6);
    const nchw = new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5, 0, 1, 0, 1]);
    const planar = extractFeatures(rgb(1), nchw);
    expect([planar.red, planar.green_std, planar.blue]).toEqual([row.red, row.green_std, row.blue]);
    // NCHW of any height and width (an ONNX model's free sizes): read off the input's length.
    const free = { ...rgb(1), inputs: [{ name: 'x', dtype: 'float32' as const, shape: [-1, 3, -1, -1] }] };
    expect(extractFeatures(free, nchw).red).toBe(planar.red);
  });
});

describe('extractFeatures of a model of several inputs', () => {
  const twoInputs: Pick<Manifest, 'inputs' | 'features'> = {
    inputs: [
      { name: 'x', dtype: 'float32', shape: [-1, 3] },
      { name: 'age', dtype: 'float32', shape: [-1, 2] },
    ],
    features: {
      features: [
        { name: 'x_mean', kind: 'numeric', source: { stat: 'mean' } },
        { name: 'age_0', kind: 'numeric', source: { index: 0, input: 'age' } },
        { name: 'age_l2', kind: 'numeric', source: { stat: 'l2', input: 'age' } },
        { name: 'x_1', kind: 'numeric', source: { index: 1, input: 'x' } },
      ],
    },
  };

  it('reads each feature from the input its source names, the first by default', () => {
    const row = extractFeatures(twoInputs, { x: Float32Array.of(1, 2, 6), age: Float32Array.of(3, 4) });
    expect(row).toEqual({ x_mean: 3, age_0: 3, age_l2: 5, x_1: 2 });
  });

  it("counts a feature of an input not given as missing, and reads the first input's values alone", () => {
    expect(extractFeatures(twoInputs, Float32Array.of(1, 2, 6))).toEqual({
      x_mean: 3,
      age_0: null,
      age_l2: null,
      x_1: 2,
    });
  });
});
