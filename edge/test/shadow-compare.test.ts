import { describe, expect, it } from 'vitest';
import { compareOutputs } from '../src/infer/shadow.ts';

const t = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });

describe('compareOutputs', () => {
  it('counts rows whose top class agrees and the largest difference', () => {
    const served = t([3, 2], [0.9, 0.1, 0.2, 0.8, 0.5, 0.4]);
    const shadow = t([3, 2], [0.7, 0.3, 0.6, 0.4, 0.5, 0.4]);
    const { rows, agreed, maxAbsDiff } = compareOutputs(served, shadow);
    expect({ rows, agreed }).toEqual({ rows: 3, agreed: 2 });
    expect(maxAbsDiff).toBeCloseTo(0.4, 6);
  });

  it('agrees on no row when the shapes differ', () => {
    expect(compareOutputs(t([1, 2], [1, 0]), t([1, 3], [1, 0, 0]))).toEqual({ rows: 1, agreed: 0, maxAbsDiff: null });
  });
});
