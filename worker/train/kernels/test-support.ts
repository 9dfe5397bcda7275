// Helpers for the kernel tests: deterministic inputs and a bit-for-bit comparison.
import { backend, type KernelFunc, type NamedAttrMap, type Tensor, type TypedArray } from '@tensorflow/tfjs-core';

/**
 * `size` float32 values from a seeded generator: about a `zeros` fraction of exact zeros (as
 * after a ReLU) and the rest in [-2, 2), quantised to eighths when `ties` so max pooling
 * meets equal values.
 *
 * @example
 * tensor4d(testValues(2 * 5 * 5 * 3, 7), [2, 5, 5, 3]);
 */
export function testValues(size: number, seed: number, options: { zeros?: number; ties?: boolean } = {}): Float32Array {
  const { zeros = 0.4, ties = false } = options;
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const values = new Float32Array(size);
  for (let i = 0; i < size; ++i) {
    const v = random() * 4 - 2;
    values[i] = random() < zeros ? 0 : ties ? Math.round(v * 8) / 8 : v;
  }
  return values;
}

/**
 * Runs a kernel function directly on the current backend and returns a copy of its output.
 *
 * @example
 * const dW = runKernelFunc(reference, { x, dy }, attrs);
 */
export function runKernelFunc(kernelFunc: KernelFunc, inputs: Record<string, Tensor>, attrs: object): TypedArray {
  const current = backend();
  const out = kernelFunc({ inputs, backend: current, attrs: attrs as NamedAttrMap });
  if (Array.isArray(out)) throw new Error('runKernelFunc: expected a single output');
  const values = (current.readSync(out.dataId) as TypedArray).slice();
  current.disposeData(out.dataId);
  return values;
}

/**
 * Index of the first element where `actual` and `expected` differ as float32 bit patterns
 * (NaN equals NaN, +0 differs from -0), the shorter length when only the lengths differ, or -1.
 *
 * @example
 * expect(firstBitDifference(ours, reference)).toBe(-1);
 */
export function firstBitDifference(actual: TypedArray, expected: TypedArray): number {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; ++i) if (!Object.is(actual[i], expected[i])) return i;
  return actual.length === expected.length ? -1 : n;
}

/**
 * How many elements are non-zero: a check that a comparison did not pass on empty results.
 *
 * @example
 * expect(nonZeroCount(values)).toBeGreaterThan(0);
 */
export function nonZeroCount(values: TypedArray): number {
  let n = 0;
  for (const v of values) if (v !== 0) n++;
  return n;
}

/** A convolution to test: input shape, filter shape and the attributes tfjs passes. */
export interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
}

/** The digits CNN's two convolutions (batch 4 keeps the reference kernels quick) and odd shapes. */
export const CONV_CASES: ConvCase[] = [
  { name: 'digits conv 1', x: [4, 28, 28, 1], filter: [3, 3, 1, 16], strides: 1, pad: 'valid', dataFormat: 'NHWC' },
  { name: 'digits conv 2', x: [4, 13, 13, 16], filter: [3, 3, 16, 32], strides: 1, pad: 'valid', dataFormat: 'NHWC' },
  { name: 'stride 2, same', x: [3, 9, 7, 3], filter: [3, 2, 3, 4], strides: 2, pad: 'same', dataFormat: 'NHWC' },
  {
    name: 'strides 2×1, valid',
    x: [2, 8, 9, 2],
    filter: [2, 3, 2, 5],
    strides: [2, 1],
    pad: 'valid',
    dataFormat: 'NHWC',
  },
  { name: 'padding 1, stride 2', x: [2, 7, 7, 2], filter: [3, 3, 2, 3], strides: 2, pad: 1, dataFormat: 'NHWC' },
  { name: 'NCHW, same', x: [2, 3, 6, 5], filter: [3, 3, 3, 4], strides: 1, pad: 'same', dataFormat: 'NCHW' },
];
