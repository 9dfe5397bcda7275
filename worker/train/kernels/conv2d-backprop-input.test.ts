import '@tensorflow/tfjs-backend-cpu';
import { backend_util, getKernel, type KernelFunc, setBackend, tensor4d } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dBackpropInputKernel } from './conv2d-backprop-input.ts';
import {
  CONV_CASES,
  type ConvCase,
  firstBitDifference,
  nonZeroCount,
  runKernelFunc,
  testValues,
} from './test-support.ts';

let reference: KernelFunc;

beforeAll(async () => {
  await setBackend('cpu');
  reference = getKernel('Conv2DBackpropInput', 'cpu').kernelFunc;
});

function compare(c: ConvCase, dyValues?: Float32Array, filterValues?: Float32Array) {
  const format = c.dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst';
  const info = backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, false, format);
  const outShape = info.outShape as [number, number, number, number];
  const dy = tensor4d(
    dyValues ??
      testValues(
        outShape.reduce((a, b) => a * b),
        8,
        { zeros: 0.7 },
      ),
    outShape,
  );
  const filter = tensor4d(
    filterValues ??
      testValues(
        c.filter.reduce((a, b) => a * b),
        9,
        { zeros: 0 },
      ),
    c.filter,
  );
  const attrs = { inputShape: c.x, strides: c.strides, pad: c.pad, dataFormat: c.dataFormat };
  const expected = runKernelFunc(reference, { dy, filter }, attrs);
  const actual = runKernelFunc(conv2dBackpropInputKernel.kernelFunc, { dy, filter }, attrs);
  dy.dispose();
  filter.dispose();
  return { expected, actual };
}

describe('Conv2DBackpropInput (cpu)', () => {
  it.each(CONV_CASES)('equals the tfjs-cpu reference bit for bit: $name', (c) => {
    const { expected, actual } = compare(c);
    expect(actual.length).toBe(c.x.reduce((a, b) => a * b));
    expect(nonZeroCount(expected)).toBeGreaterThan(expected.length / 4);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it('equals the reference when weights hold NaN and infinities (no zero skipping then)', () => {
    const c = CONV_CASES[3] as ConvCase;
    const filter = testValues(2 * 3 * 2 * 5, 10, { zeros: 0 });
    filter[4] = Number.POSITIVE_INFINITY;
    filter[17] = Number.NaN;
    const { expected, actual } = compare(c, undefined, filter);
    expect(expected.some(Number.isNaN)).toBe(true);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });
});
