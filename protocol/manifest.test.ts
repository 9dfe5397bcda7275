import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Manifest } from './manifest.ts';

const manifest = (source: Record<string, unknown>) => ({
  v: 1,
  name: 'ranker',
  format: 'tfjs-graph',
  inputs: [
    { name: 'x', dtype: 'float32', shape: [-1, 4] },
    { name: 'age', dtype: 'float32', shape: [-1, 1], range: [0, 120] },
  ],
  outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, 3] }],
  features: { features: [{ name: 'age_0', kind: 'numeric', source }] },
  files: [{ path: 'model.json', role: 'model' }],
});

describe('Manifest', () => {
  it("takes a feature reading any input by name, and an input's range", () => {
    expect(v.is(Manifest, manifest({ index: 0, input: 'age' }))).toBe(true);
    expect(v.is(Manifest, manifest({ stat: 'mean' }))).toBe(true);
  });

  it('refuses a feature naming no input of the model, and a range upside down', () => {
    const unknown = v.safeParse(Manifest, manifest({ index: 0, input: 'height' }));
    expect(unknown.success).toBe(false);
    expect(unknown.issues?.[0]?.message).toBe("a feature's source.input must name one of manifest.inputs");
    const reversed = {
      ...manifest({ stat: 'mean' }),
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4], range: [1, 0] }],
    };
    expect(v.safeParse(Manifest, reversed).issues?.[0]?.message).toBe('range: [min, max] with min ≤ max');
  });
});
