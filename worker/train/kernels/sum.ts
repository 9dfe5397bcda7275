import {
  type KernelConfig,
  type KernelFunc,
  Sum,
  type SumAttrs,
  type SumInputs,
  type TensorInfo,
  type TypedArray,
  util,
} from '@tensorflow/tfjs-core';
import { runOnBackend } from './backend-io.ts';

/**
 * Sums a float32 tensor viewed as [rows, cols] over its rows, into `out` (length cols).
 *
 * Bit-exact with tfjs-cpu 4.22's reference Sum over leading axes: that kernel first
 * transposes the summed axes to the end (the costly part), then adds each output's values in
 * row order in float64 and rounds once; this adds in the same order without the transpose.
 *
 * @example
 * sumRowsValues(biasGradient, 64 * 26 * 26, 16, out);
 */
export function sumRowsValues(x: TypedArray, rows: number, cols: number, out: Float32Array): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; ++r) {
    const at = r * cols;
    for (let c = 0; c < cols; ++c) acc[c] = (acc[c] as number) + (x[at + c] as number);
  }
  out.set(acc);
}

/** How many leading axes `axes` names, if it names exactly axes 0, 1, …, k-1 in that order (else -1). */
function leadingAxes(axes: number[]): number {
  return axes.every((axis, i) => axis === i) ? axes.length : -1;
}

/**
 * Sum for tfjs-cpu: a fast path for float32 sums over leading axes in order (the bias
 * gradients of every conv and dense layer); every other sum goes to `reference`.
 *
 * @example
 * registerKernel(sumKernel(getKernel('Sum', 'cpu').kernelFunc));
 */
export function sumKernel(reference: KernelFunc): KernelConfig {
  return {
    kernelName: Sum,
    backendName: 'cpu',
    kernelFunc: (args): TensorInfo | TensorInfo[] => {
      const { x } = args.inputs as SumInputs;
      const { axis, keepDims } = args.attrs as unknown as SumAttrs;
      if (x === undefined) throw new Error('Sum needs x');
      const lead = leadingAxes(util.parseAxisParam(axis, x.shape));
      // With no kept axis the reference sums without transposing; leave that case to it.
      if (x.dtype !== 'float32' || lead < 1 || lead >= x.shape.length) return reference(args);
      const rows = util.sizeFromShape(x.shape.slice(0, lead));
      const kept = x.shape.slice(lead);
      const shape = keepDims ? [...x.shape.slice(0, lead).map(() => 1), ...kept] : kept;
      return runOnBackend('cpu', args.backend, [x], shape, 'float32', ([xv], out) =>
        sumRowsValues(xv as TypedArray, rows, util.sizeFromShape(kept), out as Float32Array),
      );
    },
  };
}
