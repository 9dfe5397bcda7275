import '@tensorflow/tfjs-backend-cpu';
import { getKernel, type KernelFunc, setBackend, tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { firstBitDifference, nonZeroCount, runKernelFunc, testValues } from './test-support.ts';
import { unsortedSegmentSumKernels } from './unsorted-segment-sum.ts';

let reference: KernelFunc;

beforeAll(async () => {
  await setBackend('cpu');
  reference = getKernel('UnsortedSegmentSum', 'cpu').kernelFunc;
});

const CASES = [
  { name: 'gather gradient of a 28×28 alignment (4 corners per pixel)', shape: [3136, 2, 1], segments: 784 },
  { name: 'rows of several values', shape: [60, 4, 3], segments: 5 },
  { name: 'ids out of range are dropped', shape: [50, 3], segments: 7, outOfRange: true },
  { name: 'int32 values (summed to float32, as the reference)', shape: [40, 2], segments: 9, dtype: 'int32' as const },
];

describe('UnsortedSegmentSum (cpu)', () => {
  it.each(CASES)('equals the tfjs-cpu reference bit for bit: $name', (c) => {
    const size = c.shape.reduce((a, b) => a * b);
    const idsShape = c.shape.slice(0, 1);
    const idsSize = idsShape.reduce((a, b) => a * b);
    const values = testValues(size, 9).map((v) => (c.dtype === 'int32' ? Math.round(v * 100) : v * 1000));
    const x = tensor(c.dtype === 'int32' ? Int32Array.from(values) : values, c.shape, c.dtype ?? 'float32');
    const ids = tensor(
      Int32Array.from(
        { length: idsSize },
        (_, i) => ((i * 7919) % (c.segments + (c.outOfRange ? 3 : 0))) - (c.outOfRange && i % 11 === 0 ? 5 : 0),
      ),
      idsShape,
      'int32',
    );
    const attrs = { numSegments: c.segments };
    const expected = runKernelFunc(reference, { x, segmentIds: ids }, attrs);
    const actual = runKernelFunc(unsortedSegmentSumKernels.cpu.kernelFunc, { x, segmentIds: ids }, attrs);
    x.dispose();
    ids.dispose();
    expect(nonZeroCount(expected)).toBeGreaterThan(0);
    expect(actual.constructor).toBe(expected.constructor);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });
});
