import {
  backend_util,
  Conv2D,
  type Conv2DAttrs,
  type Conv2DInputs,
  type KernelConfig,
  type TensorInfo,
  type TypedArray,
} from '@tensorflow/tfjs-core';
import { runOnBackend } from './backend-io.ts';
import { allFinite, layoutStrides } from './layout.ts';

/**
 * Forward 2-D convolution, written into `y` (shape info.outShape, zero-filled, of the input's
 * dtype).
 *
 * Bit-exact with tfjs-cpu 4.22's reference kernel, whose loops and order it keeps: each output
 * element accumulates in its own dtype (float32: rounded after every add) over filter row,
 * filter column, input channel. It only skips zero inputs: adding ±0 to an accumulator that
 * starts at +0 changes nothing while every weight is finite (checked first). After ReLU and
 * on digit images most inputs are zero, so this removes most of the work.
 *
 * @example
 * conv2dValues(xValues, filterValues, convInfo, new Float32Array(sizeFromShape(convInfo.outShape)));
 */
export function conv2dValues(
  x: TypedArray,
  filter: TypedArray,
  info: backend_util.Conv2DInfo,
  y: Float32Array | Int32Array,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const channelsLast = info.dataFormat === 'channelsLast';
  const xs = layoutStrides(channelsLast, inHeight, inWidth, inChannels);
  const ys = layoutStrides(channelsLast, outHeight, outWidth, outChannels);
  const skipZeros = allFinite(filter);
  for (let b = 0; b < batchSize; ++b) {
    for (let yR = 0; yR < outHeight; ++yR) {
      const yRow = b * ys.batch + yR * ys.row;
      for (let wR = 0; wR < filterHeight; ++wR) {
        const xR = yR * strideHeight - info.padInfo.top + wR * dilationHeight;
        if (xR < 0 || xR >= inHeight) continue;
        const xRow = b * xs.batch + xR * xs.row;
        for (let yC = 0; yC < outWidth; ++yC) {
          const yAt = yRow + yC * ys.col;
          for (let wC = 0; wC < filterWidth; ++wC) {
            const xC = yC * strideWidth - info.padInfo.left + wC * dilationWidth;
            if (xC < 0 || xC >= inWidth) continue;
            const xAt = xRow + xC * xs.col;
            let wAt = (wR * filterWidth + wC) * inChannels * outChannels;
            for (let d1 = 0; d1 < inChannels; ++d1, wAt += outChannels) {
              const xv = x[xAt + d1 * xs.channel] as number;
              if (xv === 0 && skipZeros) continue;
              for (let d2 = 0; d2 < outChannels; ++d2) {
                const at = yAt + d2 * ys.channel;
                y[at] = (y[at] as number) + xv * (filter[wAt + d2] as number);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Conv2D for tfjs-cpu. Training calls the unfused Conv2D (tfjs only fuses bias and activation
 * outside gradient tapes), so this is the forward pass that `model.fit` runs.
 */
export const conv2dKernel: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }): TensorInfo => {
    const { x, filter } = inputs as Conv2DInputs;
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as Conv2DAttrs;
    if (x === undefined || filter === undefined) throw new Error('Conv2D needs x and filter');
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      strides,
      dilations,
      pad,
      dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(dataFormat),
    );
    const dtype = x.dtype === 'int32' ? 'int32' : 'float32';
    return runOnBackend('cpu', backend, [x, filter], info.outShape, dtype, ([xv, fv], out) =>
      conv2dValues(xv as TypedArray, fv as TypedArray, info, out),
    );
  },
};
