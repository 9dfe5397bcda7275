import {
  GatherV2,
  type GatherV2Attrs,
  type GatherV2Inputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type TypedArray,
  util,
} from '@tensorflow/tfjs-core';
import { runOnBackend } from './backend-io.ts';

/**
 * Gathers along one axis: `x` seen as [outer, axisSize, inner], `out` as [outer, indices, inner]
 * (row `k` of each outer block is row `indices[k]` of `x`'s). Contiguous rows are copied whole.
 *
 * @example
 * gatherValues(features, [1, 500, 800], batchIndexes, out); // 128 rows of 800 features
 */
export function gatherValues(
  x: TypedArray,
  [outer, axisSize, inner]: readonly [number, number, number],
  indices: TypedArray,
  out: TypedArray,
): void {
  for (const index of indices) {
    if (index < 0 || index >= axisSize)
      throw new Error(`GatherV2: the index value ${index} is not in [0, ${axisSize - 1}]`);
  }
  const count = indices.length;
  for (let o = 0; o < outer; o++) {
    const from = o * axisSize * inner;
    const to = o * count * inner;
    if (inner === 1) {
      for (let k = 0; k < count; k++) out[to + k] = x[from + (indices[k] as number)] as number;
      continue;
    }
    for (let k = 0; k < count; k++) {
      const at = from + (indices[k] as number) * inner;
      out.set(x.subarray(at, at + inner), to + k * inner);
    }
  }
}

/**
 * GatherV2 for tfjs-wasm: tfjs-wasm 4.22's own computes every element's source offset with
 * index arithmetic, ten times slower than copying rows (2.5 ms for 128 rows of 800 floats, a
 * JavaScript copy 0.25 ms; a fit draws its batches and the alignment samples its pixels with
 * gathers). Float32 and int32 without batch dimensions; everything else goes to `replaced`.
 *
 * @example
 * registerKernel(gatherKernel(getKernel('GatherV2', 'wasm').kernelFunc));
 */
export function gatherKernel(replaced: KernelFunc): KernelConfig {
  return {
    kernelName: GatherV2,
    backendName: 'wasm',
    kernelFunc: (args): TensorInfo | TensorInfo[] => {
      const { x, indices } = args.inputs as GatherV2Inputs;
      const { axis, batchDims } = args.attrs as unknown as GatherV2Attrs;
      if (x === undefined || indices === undefined) throw new Error('GatherV2 needs x and indices');
      if (batchDims !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') {
        return replaced(args);
      }
      const [at] = util.parseAxisParam(axis, x.shape) as [number];
      const outer = util.sizeFromShape(x.shape.slice(0, at));
      const inner = util.sizeFromShape(x.shape.slice(at + 1));
      const shape = [...x.shape.slice(0, at), ...indices.shape, ...x.shape.slice(at + 1)];
      return runOnBackend('wasm', args.backend, [x, indices], shape, x.dtype, ([xv, iv], out) =>
        gatherValues(xv as TypedArray, [outer, x.shape[at] as number, inner], iv as TypedArray, out),
      );
    },
  };
}
