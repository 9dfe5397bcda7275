import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type TensorInfo,
  type TypedArray,
} from '@tensorflow/tfjs-core';
import { runOnBackend, type TrainingBackend } from './backend-io.ts';
import { allFinite, layoutStrides } from './layout.ts';

/**
 * Filter gradient of a 2-D convolution (dilation 1), written into `dW` (shape
 * [filterHeight, filterWidth, inChannels, outChannels]). Every element of `dW` is written.
 *
 * Bit-exact with tfjs-cpu 4.22's reference kernel: each element is the same sum of x × dy,
 * taken in the same order (batch, output row, output column) in float64 and rounded to
 * float32 once. The loops are reordered only across *different* elements, so the innermost
 * loop walks channels; and zero terms are skipped (most inputs follow a ReLU, most gradients
 * a max pool), which cannot change a float64 sum that starts at +0 while all values are
 * finite (checked first; otherwise nothing is skipped).
 *
 * @example
 * conv2dBackpropFilterValues(xValues, dyValues, convInfo, dW);
 */
export function conv2dBackpropFilterValues(
  x: TypedArray,
  dy: TypedArray,
  info: backend_util.Conv2DInfo,
  dW: Float32Array,
): void {
  const { batchSize, inChannels, outChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth } = info;
  const channelsLast = info.dataFormat === 'channelsLast';
  const xs = layoutStrides(channelsLast, info.inHeight, info.inWidth, inChannels);
  const topPad = info.padInfo.top;
  const leftPad = info.padInfo.left;
  const skipZeros = allFinite(x) && allFinite(dy);
  const grads = gradientsByPixel(dy, info, skipZeros);
  const pairs = inChannels * outChannels;
  const acc = new Float64Array(pairs);
  for (let wR = 0; wR < filterHeight; ++wR) {
    // Same (possibly fractional) bounds as the reference, so the same rows are summed.
    const yRMin = Math.max(0, Math.ceil((topPad - wR) / strideHeight));
    const yRMax = Math.min(outHeight, (info.inHeight + topPad - wR) / strideHeight);
    for (let wC = 0; wC < filterWidth; ++wC) {
      const yCMin = Math.max(0, Math.ceil((leftPad - wC) / strideWidth));
      const yCMax = Math.min(outWidth, (info.inWidth + leftPad - wC) / strideWidth);
      acc.fill(0);
      for (let b = 0; b < batchSize; ++b) {
        for (let yR = yRMin; yR < yRMax; ++yR) {
          const xRow = b * xs.batch + (wR + yR * strideHeight - topPad) * xs.row;
          const pixelRow = (b * outHeight + yR) * outWidth;
          for (let yC = yCMin; yC < yCMax; ++yC) {
            const first = grads.start[pixelRow + yC] as number;
            const end = grads.start[pixelRow + yC + 1] as number;
            if (first === end) continue;
            const xAt = xRow + (wC + yC * strideWidth - leftPad) * xs.col;
            for (let d1 = 0; d1 < inChannels; ++d1) {
              const xv = x[xAt + d1 * xs.channel] as number;
              if (xv === 0 && skipZeros) continue;
              const accAt = d1 * outChannels;
              for (let k = first; k < end; ++k) {
                const at = accAt + (grads.channel[k] as number);
                acc[at] = (acc[at] as number) + xv * (grads.value[k] as number);
              }
            }
          }
        }
      }
      dW.set(acc, (wR * filterWidth + wC) * pairs);
    }
  }
}

/** dy per output pixel as (channel, value) lists in channel order, zeros dropped when `skipZeros`. */
function gradientsByPixel(dy: TypedArray, info: backend_util.Conv2DInfo, skipZeros: boolean) {
  const { batchSize, outHeight, outWidth, outChannels } = info;
  const ds = layoutStrides(info.dataFormat === 'channelsLast', outHeight, outWidth, outChannels);
  const start = new Int32Array(batchSize * outHeight * outWidth + 1);
  const channel = new Int32Array(dy.length);
  const value = new Float64Array(dy.length);
  let pixel = 0;
  let n = 0;
  for (let b = 0; b < batchSize; ++b) {
    for (let yR = 0; yR < outHeight; ++yR) {
      for (let yC = 0; yC < outWidth; ++yC) {
        start[pixel++] = n;
        const at = b * ds.batch + yR * ds.row + yC * ds.col;
        for (let d2 = 0; d2 < outChannels; ++d2) {
          const g = dy[at + d2 * ds.channel] as number;
          if (g === 0 && skipZeros) continue;
          channel[n] = d2;
          value[n++] = g;
        }
      }
    }
  }
  start[pixel] = n;
  return { start, channel, value };
}

function kernelFor(kind: TrainingBackend): KernelConfig {
  return {
    kernelName: Conv2DBackpropFilter,
    backendName: kind,
    kernelFunc: ({ inputs, backend, attrs }): TensorInfo => {
      const { x, dy } = inputs as Conv2DBackpropFilterInputs;
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
      if (x === undefined || dy === undefined) throw new Error('Conv2DBackpropFilter needs x and dy');
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filterShape,
        strides,
        1,
        pad,
        dimRoundingMode,
        false,
        backend_util.convertConv2DDataFormat(dataFormat),
      );
      return runOnBackend(kind, backend, [x, dy], info.filterShape, 'float32', ([xv, dyv], out) =>
        conv2dBackpropFilterValues(xv as TypedArray, dyv as TypedArray, info, out as Float32Array),
      );
    },
  };
}

/** Conv2DBackpropFilter for tfjs-cpu (its own kernel is ~100× slower) and tfjs-wasm (which has none). */
export const conv2dBackpropFilterKernels: Record<TrainingBackend, KernelConfig> = {
  cpu: kernelFor('cpu'),
  wasm: kernelFor('wasm'),
};
