import {
  backend_util,
  type KernelConfig,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type MaxPoolGradInputs,
  type TensorInfo,
  type TypedArray,
} from '@tensorflow/tfjs-core';
import { runOnBackend } from './backend-io.ts';

/**
 * Gradient of a 2-D max pool (NHWC, dilation 1): each output gradient goes to the input
 * position that won its window. Written into `dx` (the input's shape); every element is written.
 *
 * Bit-exact with tfjs-cpu 4.22's reference kernel: a window's winner is the first strictly
 * greatest value scanning rows then columns (none when every value is NaN or -Infinity), and
 * an input that wins several overlapping windows sums their gradients in float64 in the same
 * order (output row, then column) before one rounding to float32. The reference instead
 * gathers per input position through the whole window and recomputes every winner.
 *
 * @example
 * maxPoolGradValues(xValues, dyValues, poolInfo, dx);
 */
export function maxPoolGradValues(
  x: TypedArray,
  dy: TypedArray,
  info: backend_util.Conv2DInfo,
  dx: Float32Array,
): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const acc = new Float64Array(dx.length);
  const best = new Float64Array(channels);
  const bestAt = new Int32Array(channels);
  for (let b = 0; b < batchSize; ++b) {
    const xImage = b * inHeight * inWidth * channels;
    for (let yR = 0; yR < outHeight; ++yR) {
      const xRCorner = yR * strideHeight - info.padInfo.top;
      const xRMin = Math.max(0, xRCorner);
      const xRMax = Math.min(inHeight, effectiveFilterHeight + xRCorner);
      for (let yC = 0; yC < outWidth; ++yC) {
        const xCCorner = yC * strideWidth - info.padInfo.left;
        const xCMin = Math.max(0, xCCorner);
        const xCMax = Math.min(inWidth, effectiveFilterWidth + xCCorner);
        best.fill(Number.NEGATIVE_INFINITY);
        bestAt.fill(-1);
        for (let xR = xRMin; xR < xRMax; ++xR) {
          for (let xC = xCMin; xC < xCMax; ++xC) {
            const at = xImage + (xR * inWidth + xC) * channels;
            for (let d = 0; d < channels; ++d) {
              const v = x[at + d] as number;
              if (v > (best[d] as number)) {
                best[d] = v;
                bestAt[d] = at + d;
              }
            }
          }
        }
        const dyAt = ((b * outHeight + yR) * outWidth + yC) * channels;
        for (let d = 0; d < channels; ++d) {
          const winner = bestAt[d] as number;
          if (winner >= 0) acc[winner] = (acc[winner] as number) + (dy[dyAt + d] as number);
        }
      }
    }
  }
  dx.set(acc);
}

/** MaxPoolGrad for tfjs-cpu, whose own kernel is several times slower (tfjs-wasm has a native one). */
export const maxPoolGradKernel: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }): TensorInfo => {
    const { dy, input } = inputs as MaxPoolGradInputs;
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
    if (dy === undefined || input === undefined) throw new Error('MaxPoolGrad needs dy and input');
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    return runOnBackend('cpu', backend, [input, dy], input.shape, 'float32', ([xv, dyv], out) =>
      maxPoolGradValues(xv as TypedArray, dyv as TypedArray, info, out as Float32Array),
    );
  },
};
