import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelConfig,
  type TensorInfo,
  type TypedArray,
} from '@tensorflow/tfjs-core';
import { runOnBackend } from './backend-io.ts';
import { allFinite, layoutStrides } from './layout.ts';

/**
 * Input gradient of a 2-D convolution (dilation 1), written into `dx` (shape info.inShape);
 * every element is written.
 *
 * Bit-exact with tfjs-cpu 4.22's reference kernel. The reference gathers, for each input
 * position, dy × weight over output row, output column, output channel into a float64 sum.
 * This scatters instead: it walks dy in that same order and adds each term to the float64
 * sums of the positions it reaches, so every sum sees the same terms in the same order; and
 * it skips zero gradients (most of them, behind max pooling and ReLU), which cannot change a
 * sum that starts at +0 while every weight is finite (checked first).
 *
 * @example
 * conv2dBackpropInputValues(dyValues, filterValues, convInfo, dx);
 */
export function conv2dBackpropInputValues(
  dy: TypedArray,
  filter: TypedArray,
  info: backend_util.Conv2DInfo,
  dx: Float32Array,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const channelsLast = info.dataFormat === 'channelsLast';
  const xs = layoutStrides(channelsLast, inHeight, inWidth, inChannels);
  const ds = layoutStrides(channelsLast, outHeight, outWidth, outChannels);
  const skipZeros = allFinite(filter);
  // Weights as [row, col, outChannel, inChannel], so the innermost loop reads them in order.
  const weights = new Float64Array(filter.length);
  for (let k = 0; k < filterHeight * filterWidth; ++k) {
    for (let d1 = 0; d1 < inChannels; ++d1) {
      for (let d2 = 0; d2 < outChannels; ++d2) {
        weights[(k * outChannels + d2) * inChannels + d1] = filter[(k * inChannels + d1) * outChannels + d2] as number;
      }
    }
  }
  const acc = new Float64Array(dx.length);
  for (let b = 0; b < batchSize; ++b) {
    for (let yR = 0; yR < outHeight; ++yR) {
      for (let yC = 0; yC < outWidth; ++yC) {
        const dyAt = b * ds.batch + yR * ds.row + yC * ds.col;
        for (let d2 = 0; d2 < outChannels; ++d2) {
          const g = dy[dyAt + d2 * ds.channel] as number;
          if (g === 0 && skipZeros) continue;
          for (let wR = 0; wR < filterHeight; ++wR) {
            const xR = yR * strideHeight - info.padInfo.top + wR;
            if (xR < 0 || xR >= inHeight) continue;
            for (let wC = 0; wC < filterWidth; ++wC) {
              const xC = yC * strideWidth - info.padInfo.left + wC;
              if (xC < 0 || xC >= inWidth) continue;
              const dxAt = b * xs.batch + xR * xs.row + xC * xs.col;
              const wAt = ((wR * filterWidth + wC) * outChannels + d2) * inChannels;
              for (let d1 = 0; d1 < inChannels; ++d1) {
                const at = dxAt + d1 * xs.channel;
                acc[at] = (acc[at] as number) + g * (weights[wAt + d1] as number);
              }
            }
          }
        }
      }
    }
  }
  dx.set(acc);
}

/** Conv2DBackpropInput for tfjs-cpu (tfjs-wasm has a native one). */
export const conv2dBackpropInputKernel: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }): TensorInfo => {
    const { dy, filter } = inputs as Conv2DBackpropInputInputs;
    const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Conv2DBackpropInputAttrs;
    if (dy === undefined || filter === undefined) throw new Error('Conv2DBackpropInput needs dy and filter');
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(dataFormat),
    );
    return runOnBackend('cpu', backend, [dy, filter], info.inShape, 'float32', ([dyv, fv], out) =>
      conv2dBackpropInputValues(dyv as TypedArray, fv as TypedArray, info, out as Float32Array),
    );
  },
};
