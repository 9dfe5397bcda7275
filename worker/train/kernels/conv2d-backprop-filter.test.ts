import '@tensorflow/tfjs-backend-cpu';
import { backend_util, getKernel, type KernelFunc, setBackend, tensor4d } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dBackpropFilterKernels } from './conv2d-backprop-filter.ts';
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
  reference = getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc;
});

function compare(c: ConvCase, xValues?: Float32Array, dyValues?: Float32Array) {
  const info = backend_util.computeConv2DInfo(
    c.x,
    c.filter,
    c.strides,
    1,
    c.pad,
    undefined,
    false,
    c.dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst',
  );
  const outShape = info.outShape as [number, number, number, number];
  const x = tensor4d(
    xValues ??
      testValues(
        info.inShape.reduce((a, b) => a * b),
        1,
      ),
    c.x,
  );
  const dy = tensor4d(
    dyValues ??
      testValues(
        outShape.reduce((a, b) => a * b),
        2,
        { zeros: 0.7 },
      ),
    outShape,
  );
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, filterShape: c.filter };
  const expected = runKernelFunc(reference, { x, dy }, attrs);
  const actual = runKernelFunc(conv2dBackpropFilterKernels.cpu.kernelFunc, { x, dy }, attrs);
  x.dispose();
  dy.dispose();
  return { expected, actual };
}

describe('Conv2DBackpropFilter (cpu)', () => {
  it.each(CONV_CASES)('equals the tfjs-cpu reference bit for bit: $name', (c) => {
    const { expected, actual } = compare(c);
    expect(actual.length).toBe(c.filter.reduce((a, b) => a * b));
    expect(nonZeroCount(expected)).toBeGreaterThan(expected.length / 2);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it('equals the reference when inputs hold NaN and infinities (no zero skipping then)', () => {
    const c = CONV_CASES[2] as ConvCase;
    const x = testValues(3 * 9 * 7 * 3, 3);
    x[5] = Number.POSITIVE_INFINITY;
    const dy = testValues(3 * 5 * 4 * 4, 4, { zeros: 0.7 });
    dy[7] = Number.NaN;
    const { expected, actual } = compare(c, x, dy);
    expect(expected.some(Number.isNaN)).toBe(true);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });
});
