import '@tensorflow/tfjs-backend-cpu';
import { backend, getKernel, type KernelFunc, setBackend, type TensorInfo, tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { sumKernel } from './sum.ts';
import { firstBitDifference, nonZeroCount, runKernelFunc, testValues } from './test-support.ts';

let reference: KernelFunc;
let ours: KernelFunc;

beforeAll(async () => {
  await setBackend('cpu');
  reference = getKernel('Sum', 'cpu').kernelFunc;
  ours = sumKernel(reference).kernelFunc;
});

const CASES: { name: string; shape: number[]; axis: number | number[]; keepDims: boolean; dtype?: 'int32' }[] = [
  { name: 'digits conv 1 bias gradient', shape: [4, 26, 26, 16], axis: [0, 1, 2], keepDims: false },
  { name: 'digits conv 2 bias gradient', shape: [4, 11, 11, 32], axis: [0, 1, 2], keepDims: false },
  { name: 'dense bias gradient', shape: [64, 32], axis: 0, keepDims: false },
  { name: 'leading axes, keepDims', shape: [3, 4, 5], axis: [0, 1], keepDims: true },
  { name: 'negative axis', shape: [6, 5], axis: -2, keepDims: false },
  { name: 'axes out of order (reference path)', shape: [3, 4, 5], axis: [1, 0], keepDims: false },
  { name: 'inner axes (reference path)', shape: [3, 4, 5], axis: [1, 2], keepDims: true },
  { name: 'everything (reference path)', shape: [3, 4, 5], axis: [0, 1, 2], keepDims: false },
  { name: 'int32 (reference path)', shape: [6, 5], axis: 0, keepDims: false, dtype: 'int32' },
];

describe('Sum (cpu)', () => {
  it.each(CASES)('equals the tfjs-cpu reference bit for bit: $name', (c) => {
    const size = c.shape.reduce((a, b) => a * b);
    const values = testValues(size, 14).map((v) => (c.dtype === 'int32' ? Math.round(v * 100) : v * 1000));
    const x = tensor(c.dtype === 'int32' ? Int32Array.from(values) : values, c.shape, c.dtype ?? 'float32');
    const attrs = { axis: c.axis, keepDims: c.keepDims };
    const expected = runKernelFunc(reference, { x }, attrs);
    const actual = runKernelFunc(ours, { x }, attrs);
    x.dispose();
    expect(nonZeroCount(expected)).toBeGreaterThan(0);
    expect(actual.constructor).toBe(expected.constructor);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it('gives the reference output shapes', () => {
    const x = tensor(testValues(24, 15), [2, 3, 4]);
    for (const keepDims of [true, false]) {
      const args = { inputs: { x }, backend: backend(), attrs: { axis: [0, 1], keepDims } };
      const [actual, expected] = [ours(args), reference(args)] as TensorInfo[];
      expect(actual?.shape).toEqual(keepDims ? [1, 1, 4] : [4]);
      expect(actual?.shape).toEqual(expected?.shape);
      for (const out of [actual, expected]) if (out) backend().disposeData(out.dataId);
    }
    x.dispose();
  });
});
