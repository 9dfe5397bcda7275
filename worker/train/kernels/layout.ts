import type { TypedArray } from '@tensorflow/tfjs-core';

/** Element strides of a rank-4 image tensor, named by axis whatever the layout. */
export interface LayoutStrides {
  batch: number;
  row: number;
  col: number;
  channel: number;
}

/**
 * Strides of an NHWC (`channelsLast`) or NCHW tensor with the given height, width and channels.
 *
 * @example
 * layoutStrides(true, 28, 28, 1); // { batch: 784, row: 28, col: 1, channel: 1 }
 */
export function layoutStrides(channelsLast: boolean, height: number, width: number, channels: number): LayoutStrides {
  const batch = height * width * channels;
  return channelsLast
    ? { batch, row: width * channels, col: channels, channel: 1 }
    : { batch, row: width, col: 1, channel: height * width };
}

/**
 * True when no value is NaN or ±Infinity (then `0 * v` is always ±0).
 *
 * @example
 * allFinite(new Float32Array([1, Number.NaN])); // false
 */
export function allFinite(values: TypedArray): boolean {
  for (let i = 0; i < values.length; ++i) {
    const v = values[i] as number;
    if (v - v !== 0) return false;
  }
  return true;
}
