import * as v from 'valibot';
import { FeatureValues } from './events.ts';
import { TensorDtype } from './manifest.ts';
import { ModelName } from './names.ts';
import { BackendName } from './worker-api.ts';

// What `predict` takes and answers across the page ↔ worker boundary, for a model of any
// signature: one input or several by name, in the element types typed arrays carry.

/** The typed arrays an input's values may come in; the worker converts them to the input's dtype. */
export type InputArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | Uint8ClampedArray
  | BigInt64Array;

const isInputArray = (x: unknown): x is InputArray =>
  ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigUint64Array);

const InputValues = v.custom<InputArray>(isInputArray, 'must be a typed array');

/**
 * One input: its values row-major (one example, no batch axis), with their shape when the input
 * has more than one dimension of free size (nested arrays give it: the SDK reads it off them).
 */
export const TensorInput = v.union(
  [InputValues, v.strictObject({ data: InputValues, shape: v.array(v.pipe(v.number(), v.integer(), v.minValue(0))) })],
  'must be a typed array, or { data: typed array, shape }',
);
export type TensorInput = v.InferOutput<typeof TensorInput>;

/**
 * Whether a checked input is one tensor's values (not inputs by name).
 *
 * @example
 * isTensorInput({ data: Float32Array.of(1, 2), shape: [1, 2] }); // true
 */
export function isTensorInput(input: ModelInput): input is TensorInput {
  const { data, shape } = input as { data?: unknown; shape?: unknown };
  return ArrayBuffer.isView(input) || (ArrayBuffer.isView(data) && Array.isArray(shape));
}

/** A model's input: its one input's values, or every input by the manifest's name. */
export const ModelInput = v.union(
  [
    TensorInput,
    v.pipe(
      v.record(v.pipe(v.string(), v.minLength(1)), TensorInput),
      v.check((r) => Object.keys(r).length > 0, 'name at least one input'),
    ),
  ],
  'must be a typed array, { data, shape }, or { inputName: typed array }',
);
export type ModelInput = v.InferOutput<typeof ModelInput>;

/**
 * Per-predict options. `features`: values of the manifest's features that have no `source`
 * (the app computes them), by name; a name the manifest does not list that way is refused.
 */
export const PredictOptions = v.strictObject({
  features: v.optional(FeatureValues),
});
export type PredictOptions = v.InferInput<typeof PredictOptions>;

/** One output of one example, as the manifest names and types it (int64 and bool as numbers). */
export const OutputTensor = v.object({
  dtype: TensorDtype,
  shape: v.array(v.number()),
  data: v.array(v.number()),
});
export type OutputTensor = v.InferOutput<typeof OutputTensor>;

export const PredictResult = v.object({
  v: v.literal(1),
  predictionId: v.string(),
  model: ModelName,
  version: v.number(),
  /** The first output's values, flat (what the prediction event records). */
  outputs: v.array(v.number()),
  /** Every output by its manifest name. */
  tensors: v.record(v.string(), OutputTensor),
  /** The index of the first output's largest value: a classifier's predicted class. */
  label: v.number(),
  /** That class's name, for a classifier whose manifest has `labels`. */
  labelName: v.optional(v.string()),
  backend: BackendName,
  latencyMs: v.number(),
});
export type PredictResult = v.InferOutput<typeof PredictResult>;

/**
 * A feedback label as the page gives it: a class index or a class name of the manifest's
 * `labels` (classification), or the true value (regression). An embedding takes none.
 */
export const FeedbackLabel = v.union([
  v.pipe(v.number(), v.finite('must be a finite number')),
  v.pipe(v.string(), v.minLength(1)),
]);
export type FeedbackLabel = v.InferOutput<typeof FeedbackLabel>;
