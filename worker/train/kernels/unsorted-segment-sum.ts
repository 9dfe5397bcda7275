import {
  type KernelConfig,
  type TensorInfo,
  type TypedArray,
  UnsortedSegmentSum,
  type UnsortedSegmentSumAttrs,
  type UnsortedSegmentSumInputs,
  util,
} from '@tensorflow/tfjs-core';
import { runOnBackend, type TrainingBackend } from './backend-io.ts';

/**
 * `out[segmentIds[i], j] += x[i, j]` for x viewed as [ids, inner]; ids outside [0, segments)
 * are dropped. Each output adds its values in row order in float64 and rounds once, as tfjs-cpu
 * 4.22's reference does (a masked Sum over axis 0 per segment), so the results are bit-identical.
 *
 * @example
 * unsortedSegmentSumValues(values, ids, 784, 1, out); // the gradient of a gather over 784 pixels
 */
export function unsortedSegmentSumValues(
  x: TypedArray,
  segmentIds: TypedArray,
  segments: number,
  inner: number,
  out: Float32Array,
): void {
  const acc = new Float64Array(segments * inner);
  for (let i = 0; i < segmentIds.length; i++) {
    const segment = segmentIds[i] as number;
    if (segment < 0 || segment >= segments) continue;
    const from = i * inner;
    const to = segment * inner;
    for (let j = 0; j < inner; j++) acc[to + j] = (acc[to + j] as number) + (x[from + j] as number);
  }
  out.set(acc);
}

function kernelFor(kind: TrainingBackend): KernelConfig {
  return {
    kernelName: UnsortedSegmentSum,
    backendName: kind,
    kernelFunc: ({ inputs, backend, attrs }): TensorInfo => {
      const { x, segmentIds } = inputs as UnsortedSegmentSumInputs;
      const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
      if (x === undefined || segmentIds === undefined) throw new Error('UnsortedSegmentSum needs x and segmentIds');
      const innerShape = x.shape.slice(segmentIds.shape.length);
      // float32 whatever x is, as the reference (its float mask upcasts int32 values).
      return runOnBackend(kind, backend, [x, segmentIds], [numSegments, ...innerShape], 'float32', ([xv, ids], out) =>
        unsortedSegmentSumValues(
          xv as TypedArray,
          ids as TypedArray,
          numSegments,
          util.sizeFromShape(innerShape),
          out as Float32Array,
        ),
      );
    },
  };
}

/**
 * UnsortedSegmentSum (the gradient of a gather: an aligned personal model's, explained) for
 * tfjs-wasm, which has none, and tfjs-cpu, whose own does one masked pass over all of x per
 * segment (784 passes for a 28×28 image).
 */
export const unsortedSegmentSumKernels: Record<TrainingBackend, KernelConfig> = {
  cpu: kernelFor('cpu'),
  wasm: kernelFor('wasm'),
};
