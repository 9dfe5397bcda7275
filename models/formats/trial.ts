import type { TensorSpec } from '../../protocol/manifest.ts';
import { castData, type Tensor } from '../../protocol/oip-tensor.ts';

// The inputs a model is tried on where no real input exists yet (publish's trial run, a graph's
// profiled work at the edge, the browser's backend warm-up): zeros, one example.

/** The size a dimension of unknown size (-1 past the batch axis) takes in a trial run. */
export const TRIAL_DIM = 32;

/**
 * The spec's shape for one example: batch 1, unknown sizes TRIAL_DIM.
 *
 * @example
 * trialShape({ name: 'x', dtype: 'float32', shape: [-1, -1, 3] }); // [1, 32, 3]
 */
export const trialShape = (spec: TensorSpec): number[] =>
  spec.shape.map((d, i) => (d >= 0 ? d : i === 0 ? 1 : TRIAL_DIM));

/**
 * One example of zeros in the spec's shape and dtype.
 *
 * @example
 * trialInput({ name: 'ids', dtype: 'int64', shape: [-1, 4] }); // { shape: [1, 4], data: BigInt64Array(4) }
 */
export function trialInput(spec: TensorSpec): Tensor {
  const shape = trialShape(spec);
  return { shape, data: castData(new Float32Array(shape.reduce((n, d) => n * d, 1)), spec.dtype) };
}
