import { describe, expect, it } from 'vitest';
import type { ModelJson } from '../../protocol/model-json.ts';
import { clipDelta, float32Bytes, weightDelta, weightLayout } from './delta.ts';

const modelJson = (weights: { name: string; shape: number[]; dtype?: string }[]): ModelJson => ({
  modelTopology: {},
  weightsManifest: [{ paths: ['weights.bin'], weights: weights.map((w) => ({ dtype: 'float32', ...w })) }],
});

describe('federated delta', () => {
  const layout = weightLayout(
    modelJson([
      { name: 'conv/kernel', shape: [2, 2] },
      { name: 'dense/kernel', shape: [3, 1] },
      { name: 'dense/bias', shape: [1] },
    ]),
  );

  it('lays the weights out in weightsManifest order and refuses weights that are not float32', () => {
    expect(layout.values).toBe(8);
    expect([...layout.weights.entries()]).toEqual([
      ['conv/kernel', { offset: 0, size: 4 }],
      ['dense/kernel', { offset: 4, size: 3 }],
      ['dense/bias', { offset: 7, size: 1 }],
    ]);
    expect(() => weightLayout(modelJson([{ name: 'q', shape: [1], dtype: 'int32' }]))).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_MODEL' }),
    );
  });

  it('puts fine-tuned − base at each trained weight and 0 everywhere else', () => {
    const delta = weightDelta(layout, [
      { name: 'dense/kernel', base: Float32Array.of(1, 2, 3), trained: Float32Array.of(1.5, 2, 2) },
      { name: 'dense/bias', base: Float32Array.of(0), trained: Float32Array.of(0.25) },
    ]);
    expect(delta).toEqual(Float32Array.of(0, 0, 0, 0, 0.5, 0, -1, 0.25));
    expect(weightDelta(layout, [{ name: 'other', base: new Float32Array(1), trained: new Float32Array(1) }])).toBe(
      'model.json lists no weight other',
    );
    expect(
      weightDelta(layout, [{ name: 'dense/bias', base: new Float32Array(2), trained: new Float32Array(2) }]),
    ).toMatch(/dense\/bias has 2 values, model.json 1/);
  });

  it('clips to the L2 norm over the whole vector and reports the norm before', () => {
    const delta = Float32Array.of(3, 4);
    expect(clipDelta(delta, 1)).toEqual({ norm: 5, clipped: true });
    expect(Math.hypot(...delta)).toBeLessThanOrEqual(1);
    expect(delta[0] ?? 0).toBeCloseTo(0.6, 5);
    const small = Float32Array.of(0.3, 0.4);
    expect(clipDelta(small, 1)).toEqual({ norm: expect.closeTo(0.5, 6), clipped: false });
    expect(small).toEqual(Float32Array.of(0.3, 0.4));
    expect(() => clipDelta(Float32Array.of(Number.NaN), 1)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('encodes float32 little-endian', () => {
    expect([...float32Bytes(Float32Array.of(1, -2))]).toEqual([0, 0, 128, 63, 0, 0, 0, 192]);
  });
});
