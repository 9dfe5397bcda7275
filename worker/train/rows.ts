import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { PredictionRow } from '../db.ts';
import type { LoadedModel } from '../runtime.ts';

// A training example of a model of several inputs is one row of floats: every input's values,
// flattened, one after another in the model's (and the manifest's) input order. Examples files
// of such a model store their `inputs` the same way, [count, Σ input sizes]. A model of one
// input: the row is its input.

/**
 * Each input's shape without the batch axis, as the model declares it: a fine-tune batches
 * examples, so every dimension must be fixed (else UNSUPPORTED_MODEL).
 *
 * @example
 * inputShapes(model); // [[8], [4]] for a model of two inputs
 */
export function inputShapes(model: tfl.LayersModel): number[][] {
  return model.inputs.map((input) => {
    const shape = input.shape.slice(1);
    if (shape.some((d) => d === null)) {
      throw new EdgeloopError(
        'UNSUPPORTED_MODEL',
        `${model.name}: on-device training needs fixed input shapes (${input.name} is [${input.shape.map((d) => d ?? -1)}])`,
      );
    }
    return shape as number[];
  });
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Floats in one example's row: the sum of the model's input sizes.
 *
 * @example
 * rowSize(model); // 12 for inputs [8] and [4]
 */
export function rowSize(model: tfl.LayersModel): number {
  return inputShapes(model).reduce((sum, shape) => sum + product(shape), 0);
}

/**
 * A recorded prediction's row for the loaded model (see above), or null when the record lacks
 * an input or one of the wrong size (recorded for another version's signature).
 *
 * @example
 * const row = exampleRow(loaded, prediction); // Float32Array of rowSize(loaded.registry), or null
 */
export function exampleRow(
  loaded: Pick<LoadedModel, 'registry' | 'signature'>,
  prediction: Pick<PredictionRow, 'input' | 'inputs'>,
): Float32Array | null {
  const shapes = inputShapes(loaded.registry);
  if (shapes.length === 1) return prediction.input.length === product(shapes[0] as number[]) ? prediction.input : null;
  const row = new Float32Array(shapes.reduce((sum, shape) => sum + product(shape), 0));
  let at = 0;
  for (const [i, shape] of shapes.entries()) {
    const data = prediction.inputs?.[loaded.signature.inputs[i]?.name ?? ''];
    if (!data || data.length !== product(shape)) return null;
    // Int64 ids arrive as BigInt64Array, which Float32Array.set does not take.
    row.set(data instanceof BigInt64Array ? Array.from(data, Number) : data, at);
    at += data.length;
  }
  return row;
}

/**
 * Rows `start … start + n` of `rows` as the model's inputs: one tensor [n, …shape], or one per
 * input for a model of several. Called inside a tidy.
 *
 * @example
 * const x = batchInputs(model, rows, 0, 32);
 */
export function batchInputs(
  model: tfl.LayersModel,
  rows: Float32Array,
  start: number,
  n: number,
): tf.Tensor | tf.Tensor[] {
  const shapes = inputShapes(model);
  const size = shapes.reduce((sum, shape) => sum + product(shape), 0);
  const batch = rows.subarray(start * size, (start + n) * size);
  if (shapes.length === 1) return tf.tensor(batch, [n, ...(shapes[0] as number[])]);
  const matrix = tf.tensor2d(batch, [n, size]);
  let at = 0;
  return shapes.map((shape) => {
    const part = tf.reshape(tf.slice(matrix, [0, at], [n, product(shape)]), [n, ...shape]);
    at += product(shape);
    return part;
  });
}
