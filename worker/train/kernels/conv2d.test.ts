import '@tensorflow/tfjs-backend-cpu';
import { backend_util, getKernel, type KernelFunc, setBackend, tensor4d } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dKernel } from './conv2d.ts';
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
  reference = getKernel('Conv2D', 'cpu').kernelFunc;
});

function compare(
  c: ConvCase,
  dilations: number | [number, number],
  xValues?: Float32Array,
  filterValues?: Float32Array,
) {
  const format = c.dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst';
  const info = backend_util.computeConv2DInfo(c.x, c.filter, c.strides, dilations, c.pad, undefined, false, format);
  const x = tensor4d(
    xValues ??
      testValues(
        info.inShape.reduce((a, b) => a * b),
        5,
      ),
    c.x,
  );
  const filter = tensor4d(
    filterValues ??
      testValues(
        c.filter.reduce((a, b) => a * b),
        6,
        { zeros: 0 },
      ),
    c.filter,
  );
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, dilations };
  const expected = runKernelFunc(reference, { x, filter }, attrs);
  const actual = runKernelFunc(conv2dKernel.kernelFunc, { x, filter }, attrs);
  x.dispose();
  filter.dispose();
  return { expected, actual, size: info.outShape.reduce((a, b) => a * b) };
}

describe('Conv2D (cpu)', () => {
  it.each(CONV_CASES)('equals the tfjs-cpu reference bit for bit: $name', (c) => {
    const { expected, actual, size } = compare(c, 1);
    expect(actual.length).toBe(size);
    expect(nonZeroCount(expected)).toBeGreaterThan(size / 2);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it('equals the reference with dilation 2', () => {
    const c: ConvCase = {
      name: 'dilated',
      x: [2, 9, 8, 3],
      filter: [3, 2, 3, 4],
      strides: 1,
      pad: 'same',
      dataFormat: 'NHWC',
    };
    const { expected, actual } = compare(c, 2);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it('equals the reference when weights hold NaN and infinities (no zero skipping then)', () => {
    const c = CONV_CASES[2] as ConvCase;
    const filter = testValues(3 * 2 * 3 * 4, 7, { zeros: 0 });
    filter[3] = Number.NEGATIVE_INFINITY;
    filter[10] = Number.NaN;
    const { expected, actual } = compare(c, 1, undefined, filter);
    expect(expected.some(Number.isNaN)).toBe(true);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });
});
