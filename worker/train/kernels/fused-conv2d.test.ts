import '@tensorflow/tfjs-backend-cpu';
import { getKernel, type KernelFunc, setBackend, type Tensor, tensor1d, tensor4d } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedConv2dKernel } from './fused-conv2d.ts';
import {
  CONV_CASES,
  type ConvCase,
  firstBitDifference,
  nonZeroCount,
  runKernelFunc,
  testValues,
} from './test-support.ts';

let reference: KernelFunc;
let ours: KernelFunc;

beforeAll(async () => {
  await setBackend('cpu');
  reference = getKernel('FusedConv2D', 'cpu').kernelFunc;
  ours = fusedConv2dKernel(reference).kernelFunc;
});

function compare(c: ConvCase, activation: string, withBias: boolean) {
  const x = tensor4d(
    testValues(
      c.x.reduce((a, b) => a * b),
      41,
    ),
    c.x,
  );
  const filter = tensor4d(
    testValues(
      c.filter.reduce((a, b) => a * b),
      42,
      { zeros: 0 },
    ),
    c.filter,
  );
  const inputs: Record<string, Tensor> = { x, filter };
  if (withBias) inputs.bias = tensor1d(testValues(c.filter[3], 43, { zeros: 0 }));
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, dilations: 1, activation };
  const expected = runKernelFunc(reference, inputs, attrs);
  const actual = runKernelFunc(ours, inputs, attrs);
  for (const t of Object.values(inputs)) t.dispose();
  return { expected, actual };
}

describe('FusedConv2D (cpu)', () => {
  it.each(CONV_CASES)('equals the tfjs-cpu reference bit for bit with bias and ReLU: $name', (c) => {
    const { expected, actual } = compare(c, 'relu', c.dataFormat === 'NHWC');
    expect(nonZeroCount(expected)).toBeGreaterThan(expected.length / 4);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it.each([
    ['linear', true],
    ['relu', false],
    ['elu', true],
    ['sigmoid', false],
  ] as const)('equals the reference with activation %s (bias %s)', (activation, withBias) => {
    const { expected, actual } = compare(CONV_CASES[2] as ConvCase, activation, withBias);
    expect(nonZeroCount(expected)).toBeGreaterThan(0);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });

  it('equals the reference with a per-channel bias in NCHW (reference path)', () => {
    const { expected, actual } = compare(CONV_CASES[5] as ConvCase, 'relu', true);
    expect(firstBitDifference(actual, expected)).toBe(-1);
  });
});
