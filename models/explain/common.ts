import { EdgeloopError } from '../../protocol/errors.ts';
import type { Tensor } from '../../protocol/oip-tensor.ts';

// What integrated gradients and occlusion share: input checks, targets, baselines, the result's
// shape. Runtime-free (no tfjs here), so the edge and the worker import the same code.

/** A batch of float examples: axis 0 counts them; `data` is flat and row-major. */
export interface FloatBatch {
  shape: number[];
  data: Float32Array;
}

/** What an explanation says about one example of the batch. */
export interface ExampleExplanation {
  /** The output index explained: the one asked for, else the example's top class. */
  target: number;
  /** The model's output at `target` for the example, f(x)[target]. */
  score: number;
  /** Sum of the example's attributions. */
  sum: number;
}

/** Per-element attributions for a batch, laid out like the input (`shape`), and what they explain. */
export interface Explanation<E extends ExampleExplanation = ExampleExplanation> {
  method: 'integrated-gradients' | 'occlusion';
  shape: number[];
  attributions: Float32Array;
  examples: E[];
}

/** Which output each example is explained for: one index for all, one per example, or the top class. */
export type TargetOption = number | readonly number[];

/**
 * An INVALID_INPUT error: explanation requests fail on what the caller sent.
 *
 * @example
 * throw invalid('options.steps: must be an integer in [1, 256]');
 */
export const invalid = (message: string): EdgeloopError => new EdgeloopError('INVALID_INPUT', message);

/**
 * Checks that `input` is a float batch whose shape holds its data; returns it with the example
 * count and the floats per example.
 *
 * @example
 * checkBatch({ shape: [2, 3], data: new Float32Array(6) }); // { batch, count: 2, size: 3 }
 */
export function checkBatch(input: Tensor): { batch: FloatBatch; count: number; size: number } {
  const { shape, data } = input;
  if (!(data instanceof Float32Array)) throw invalid('input: explanations take float (FP32) inputs');
  if (shape.length < 2 || !shape.every((n) => Number.isInteger(n) && n > 0)) {
    throw invalid(`input: shape [${shape}] is not [examples, ...] with positive sizes`);
  }
  const count = shape[0] as number;
  const size = data.length / count;
  if (shape.reduce((a, b) => a * b, 1) !== data.length) {
    throw invalid(`input: shape [${shape}] does not hold ${data.length} elements`);
  }
  if (!data.every(Number.isFinite)) throw invalid('input: elements must be finite numbers');
  return { batch: { shape: [...shape], data }, count, size };
}

/**
 * The baseline of every example, flat like the input: a constant (default 0), one example's
 * worth of values (used for all) or the whole batch's.
 *
 * @example
 * expandBaseline(0.5, 2, 3); // Float32Array [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
 */
export function expandBaseline(baseline: number | Float32Array | undefined, count: number, size: number): Float32Array {
  const out = new Float32Array(count * size);
  if (baseline === undefined || typeof baseline === 'number') {
    const value = baseline ?? 0;
    if (!Number.isFinite(value)) throw invalid('options.baseline: must be a finite number');
    return out.fill(value);
  }
  if (baseline.length === size) for (let e = 0; e < count; e++) out.set(baseline, e * size);
  else if (baseline.length === out.length) out.set(baseline);
  else
    throw invalid(
      `options.baseline: has ${baseline.length} values; one example holds ${size}, the batch ${out.length}`,
    );
  if (!out.every(Number.isFinite)) throw invalid('options.baseline: values must be finite numbers');
  return out;
}

/**
 * The explained output index per example: the given one(s), checked against `classes`, else
 * each example's top class in `scores` ([count, classes], flat).
 *
 * @example
 * resolveTargets(undefined, Float32Array.of(0.1, 0.9, 0.8, 0.2), 2, 2); // [1, 0]
 */
export function resolveTargets(
  target: TargetOption | undefined,
  scores: ArrayLike<number>,
  count: number,
  classes: number,
): number[] {
  if (target === undefined) return Array.from({ length: count }, (_, e) => topClass(scores, e * classes, classes));
  const targets = typeof target === 'number' ? Array<number>(count).fill(target) : [...target];
  if (targets.length !== count) throw invalid(`options.target: has ${targets.length} indices for ${count} examples`);
  for (const t of targets) {
    if (!Number.isInteger(t) || t < 0 || t >= classes) {
      throw invalid(`options.target: ${t} is not an output index in [0, ${classes - 1}]`);
    }
  }
  return targets;
}

/**
 * Checks an integer option against its range, naming it in the error.
 *
 * @example
 * intOption(undefined, 'steps', 50, 1, 256); // 50
 */
export function intOption(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max)
    throw invalid(`options.${name}: must be an integer in [${min}, ${max}]`);
  return n;
}

/** Index of the largest of `length` values from `offset` (the first on ties). */
function topClass(scores: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if ((scores[offset + i] as number) > (scores[offset + best] as number)) best = i;
  return best;
}
