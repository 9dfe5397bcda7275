import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Tensor } from '../../protocol/oip-tensor.ts';
import {
  checkBatch,
  type ExampleExplanation,
  type Explanation,
  expandBaseline,
  intOption,
  invalid,
  resolveTargets,
  type TargetOption,
} from './common.ts';

/** Most integration steps a request may ask for: each costs one gradient per example. */
export const MAX_STEPS = 256;
const DEFAULT_STEPS = 50;
/** Interpolated inputs per gradient call: bounds the activations kept for backprop. */
const DEFAULT_BATCH = 64;
const MAX_BATCH = 1024;

export interface IntegratedGradientsOptions {
  /** Intervals of the trapezoid rule along the path (steps + 1 gradients per example); 1–256, default 50. */
  steps?: number;
  /** Where the path starts: a constant (default 0), one example's values, or the whole batch's. */
  baseline?: number | Float32Array;
  /** Output index explained, for all examples or per example; default each example's top class. */
  target?: TargetOption;
  /** Most interpolated inputs per gradient call (memory bound); default 64. */
  batchSize?: number;
  /** Awaited between gradient calls, e.g. to let a server's event loop serve other requests. */
  pause?: () => Promise<void>;
}

export interface IntegratedGradientsExample extends ExampleExplanation {
  /** f(baseline)[target]. */
  baselineScore: number;
  /** sum − (score − baselineScore): the integral's error (completeness); shrinks as steps grow. */
  gap: number;
}

export interface IntegratedGradientsResult extends Explanation<IntegratedGradientsExample> {
  method: 'integrated-gradients';
  steps: number;
}

/**
 * Integrated gradients (Sundararajan et al., 2017) of a single-input tfjs layers model: per input
 * element, (x − baseline) times the mean gradient of f(·)[target] along the straight path from
 * the baseline to x, integrated with the trapezoid rule. The attributions of an example sum to
 * f(x)[target] − f(baseline)[target] up to the integration error, reported as `gap`. The
 * explained output is the model's first. Runs on the active tfjs backend; frees every tensor.
 * Throws INVALID_INPUT for a model with several inputs, an input that does not fit the model,
 * a non-float input, or options out of range.
 *
 * @example
 * const result = await integratedGradients(model, { shape: [1, 28, 28, 1], data: pixels }, { steps: 64 });
 * result.attributions; // Float32Array(784), laid out like the input
 * result.examples[0]; // { target: 7, score: 0.99, baselineScore: 0.08, sum: 0.91, gap: 0.0003 }
 */
export async function integratedGradients(
  model: LayersModel,
  input: Tensor,
  options: IntegratedGradientsOptions = {},
): Promise<IntegratedGradientsResult> {
  const steps = intOption(options.steps, 'steps', DEFAULT_STEPS, 1, MAX_STEPS);
  const batchSize = intOption(options.batchSize, 'batchSize', DEFAULT_BATCH, 1, MAX_BATCH);
  const { batch, count, size } = checkBatch(input);
  checkModel(model, batch.shape);
  const base = expandBaseline(options.baseline, count, size);
  const exampleShape = batch.shape.slice(1);
  const x = tf.tensor(batch.data, batch.shape, 'float32');
  const b = tf.tensor(base, batch.shape, 'float32');
  try {
    const ends = await scores(model, tf.concat([x, b]), batchSize);
    const classes = ends.length / (2 * count);
    const targets = resolveTargets(options.target, ends.subarray(0, count * classes), count, classes);
    // Σ_k w_k ∇f(b + α_k (x − b)) per example, summed in float64 so rounding does not build up.
    const integral = new Float64Array(count * size);
    const points = steps + 1;
    for (let start = 0; start < count * points; start += batchSize) {
      const rows = Math.min(batchSize, count * points - start);
      if (start > 0) await options.pause?.();
      const grads = await pathGradients(model, { x, b, exampleShape, classes, targets, steps }, start, rows);
      for (let r = 0; r < rows; r++) {
        const example = Math.floor((start + r) / points);
        const k = (start + r) % points;
        const weight = (k === 0 || k === steps ? 0.5 : 1) / steps;
        for (let i = 0, at = example * size; i < size; i++, at++) {
          integral[at] = (integral[at] as number) + weight * (grads[r * size + i] as number);
        }
      }
    }
    const attributions = new Float32Array(count * size);
    for (let i = 0; i < attributions.length; i++) {
      attributions[i] = ((batch.data[i] as number) - (base[i] as number)) * (integral[i] as number);
    }
    const examples = targets.map((target, e): IntegratedGradientsExample => {
      const score = ends[e * classes + target] as number;
      const baselineScore = ends[(count + e) * classes + target] as number;
      let sum = 0;
      for (let i = e * size; i < (e + 1) * size; i++) sum += attributions[i] as number;
      return { target, score, baselineScore, sum, gap: sum - (score - baselineScore) };
    });
    return { method: 'integrated-gradients', shape: batch.shape, attributions, examples, steps };
  } finally {
    x.dispose();
    b.dispose();
  }
}

/** One input whose shape (after the batch axis) the model takes; the model's output [batch, classes]. */
function checkModel(model: LayersModel, shape: number[]): void {
  if (model.inputs.length !== 1) throw invalid(`model: has ${model.inputs.length} inputs; explanations need one`);
  const expected = (model.inputs[0]?.shape ?? []).slice(1);
  const given = shape.slice(1);
  const fits = expected.length === given.length && expected.every((n, i) => n === null || n === given[i]);
  if (!fits)
    throw invalid(`input: shape [${shape}] does not fit the model's input [-1,${expected.map((n) => n ?? -1)}]`);
  if (model.outputs[0]?.shape.length !== 2) throw invalid('model: the first output is not [batch, classes]');
}

/** The model's first output on `xs` (disposed), flat [rows, classes]. */
async function scores(model: LayersModel, xs: tf.Tensor, batchSize: number): Promise<Float32Array> {
  let out: tf.Tensor;
  try {
    out = tf.tidy(() => first(model.predict(xs, { batchSize })));
  } finally {
    xs.dispose();
  }
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

interface Path {
  x: tf.Tensor;
  b: tf.Tensor;
  exampleShape: number[];
  classes: number;
  targets: number[];
  steps: number;
}

/**
 * Gradients of f(·)[target] at path points `start` … `start + rows − 1`, where point j is
 * example ⌊j / (steps + 1)⌋ at α = (j mod (steps + 1)) / steps. Rows do not interact in
 * inference, so the gradient of the summed target scores is each row's own gradient.
 */
async function pathGradients(model: LayersModel, path: Path, start: number, rows: number): Promise<Float32Array> {
  const points = path.steps + 1;
  const examples = Int32Array.from({ length: rows }, (_, r) => Math.floor((start + r) / points));
  const alphas = Float32Array.from({ length: rows }, (_, r) => ((start + r) % points) / path.steps);
  const grads = tf.tidy(() => {
    const which = tf.tensor1d(examples, 'int32');
    const x = tf.gather(path.x, which);
    const b = tf.gather(path.b, which);
    const alpha = tf.tensor(alphas, [rows, ...path.exampleShape.map(() => 1)]);
    const points = tf.add(b, tf.mul(tf.sub(x, b), alpha));
    const targets = tf.tensor1d(
      Int32Array.from(examples, (e) => path.targets[e] as number),
      'int32',
    );
    const mask = tf.cast(tf.oneHot(targets, path.classes), 'float32');
    const score = (p: tf.Tensor) => tf.sum(tf.mul(first(model.apply(p, { training: false }) as tf.Tensor), mask));
    return tf.grad(score)(points);
  });
  try {
    return (await grads.data()) as Float32Array;
  } finally {
    grads.dispose();
  }
}

/** The first output of a model call, which returns an array for multi-output models. */
function first(result: tf.Tensor | tf.Tensor[]): tf.Tensor {
  const out = Array.isArray(result) ? result[0] : result;
  if (!out) throw invalid('model: produced no output');
  return out;
}
