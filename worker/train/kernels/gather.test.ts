import '@tensorflow/tfjs-backend-wasm';
import { env, getKernel, type KernelFunc, setBackend, tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatherKernel } from './gather.ts';
import { firstBitDifference, nonZeroCount, runKernelFunc, testValues } from './test-support.ts';

let builtIn: KernelFunc;
let ours: KernelFunc;

beforeAll(async () => {
  env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await setBackend('wasm');
  builtIn = getKernel('GatherV2', 'wasm').kernelFunc;
  ours = gatherKernel(builtIn).kernelFunc;
});

const CASES = [
  { name: 'a batch of feature rows (a fit step)', shape: [500, 5, 5, 32], indices: [128], axis: 0 },
  { name: 'pixels of images (an alignment: 4 corners per pixel)', shape: [6, 784, 1], indices: [3136], axis: 1 },
  { name: 'the last axis, indices of rank 2', shape: [3, 4, 9], indices: [2, 5], axis: -1 },
  { name: 'int32 values', shape: [40, 3], indices: [17], axis: 0, dtype: 'int32' as const },
];

describe('GatherV2 on wasm', () => {
  it.each(CASES)('equals tfjs-wasm’s own bit for bit: $name', (c) => {
    const size = c.shape.reduce((a, b) => a * b);
    const values = testValues(size, 5);
    const x = tensor(
      c.dtype === 'int32' ? Int32Array.from(values, (v) => Math.round(v * 100)) : values,
      c.shape,
      c.dtype,
    );
    const axis = c.axis < 0 ? c.shape.length + c.axis : c.axis;
    const axisSize = c.shape[axis] as number;
    const count = c.indices.reduce((a, b) => a * b);
    const indices = tensor(
      Int32Array.from({ length: count }, (_, i) => (i * 7919 + 3) % axisSize),
      c.indices,
      'int32',
    );
    const attrs = { axis: c.axis, batchDims: 0 };
    const expected = runKernelFunc(builtIn, { x, indices }, attrs);
    const actual = runKernelFunc(ours, { x, indices }, attrs);
    x.dispose();
    indices.dispose();
    expect(nonZeroCount(expected)).toBeGreaterThan(0);
    expect(actual.constructor).toBe(expected.constructor);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it('refuses an index out of range', () => {
    const x = tensor(testValues(12, 3), [4, 3]);
    const indices = tensor([1, 4], [2], 'int32');
    expect(() => runKernelFunc(ours, { x, indices }, { axis: 0, batchDims: 0 })).toThrow(
      /index value 4 is not in \[0, 3\]/,
    );
    x.dispose();
    indices.dispose();
  });
});
