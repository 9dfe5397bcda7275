import '@tensorflow/tfjs-backend-cpu';
import { backend_util, getKernel, type KernelFunc, maxPool, setBackend, tensor4d } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxPoolGradKernel } from './max-pool-grad.ts';
import { firstBitDifference, nonZeroCount, runKernelFunc, testValues } from './test-support.ts';

let reference: KernelFunc;

beforeAll(async () => {
  await setBackend('cpu');
  reference = getKernel('MaxPoolGrad', 'cpu').kernelFunc;
});

interface PoolCase {
  name: string;
  x: [number, number, number, number];
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same';
}

const CASES: PoolCase[] = [
  { name: 'digits pool 1', x: [4, 26, 26, 16], filterSize: 2, strides: 2, pad: 'valid' },
  { name: 'digits pool 2 (odd size)', x: [4, 11, 11, 32], filterSize: 2, strides: 2, pad: 'valid' },
  { name: 'overlapping 3×3 stride 2, same', x: [2, 9, 8, 3], filterSize: 3, strides: 2, pad: 'same' },
  { name: 'overlapping 3×3 stride 1, same', x: [2, 6, 7, 2], filterSize: 3, strides: 1, pad: 'same' },
  { name: '2×3 window, strides 1×2', x: [3, 7, 9, 2], filterSize: [2, 3], strides: [1, 2], pad: 'valid' },
];

function compare(c: PoolCase, xValues?: Float32Array) {
  const attrs = { filterSize: c.filterSize, strides: c.strides, pad: c.pad };
  const info = backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad);
  const outShape = info.outShape as [number, number, number, number];
  // Values quantised to eighths, so windows hold ties: the first maximum must win.
  const input = tensor4d(
    xValues ??
      testValues(
        c.x.reduce((a, b) => a * b),
        11,
        { ties: true },
      ),
    c.x,
  );
  const output = maxPool(input, c.filterSize, c.strides, c.pad);
  const dy = tensor4d(
    testValues(
      outShape.reduce((a, b) => a * b),
      12,
      { zeros: 0.1 },
    ),
    outShape,
  );
  const expected = runKernelFunc(reference, { dy, input, output }, attrs);
  const actual = runKernelFunc(maxPoolGradKernel.kernelFunc, { dy, input, output }, attrs);
  for (const t of [input, output, dy]) t.dispose();
  return { expected, actual };
}

describe('MaxPoolGrad (cpu)', () => {
  it.each(CASES)('equals the tfjs-cpu reference bit for bit: $name', (c) => {
    const { expected, actual } = compare(c);
    expect(actual.length).toBe(c.x.reduce((a, b) => a * b));
    expect(nonZeroCount(expected)).toBeGreaterThan(0);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it('equals the reference on windows of NaN and -Infinity (no winner there)', () => {
    const c = CASES[2] as PoolCase;
    const x = testValues(2 * 9 * 8 * 3, 13, { ties: true });
    x.fill(Number.NaN, 0, 40);
    x.fill(Number.NEGATIVE_INFINITY, 60, 100);
    const { expected, actual } = compare(c, x);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });
});
