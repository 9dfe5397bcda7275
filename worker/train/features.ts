import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { onBackend } from '../backends/errors.ts';
import { firstOutput } from '../infer/run-model.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { type Alignment, alignInputs } from './align.ts';
import { type AlignmentBasis, inkMoments } from './align-search.ts';
import { isImageShape } from './augment.ts';
import { type Examples, pick, roleExamples, trainTask } from './examples.ts';
import { type HeadSplit, readWeights, type StoredWeight } from './head.ts';
import { headSplit } from './personal.ts';
import { batchInputs, rowSize } from './rows.ts';

/** Inputs per forward pass: large enough to be fast, small enough for a phone. */
const BATCH = 256;
/** Standard held-out examples judged at most (a stratified sample of a larger set). */
export const MAX_STANDARD_EXAMPLES = 2000;

/** Head inputs: examples whose `inputs` are features (what the head reads), `size` floats each. */
export type Features = Examples;

/**
 * What every fine-tune of a loaded version reuses, computed at its first `train`: the head split
 * and the features of the model's replay and (sampled) standard held-out examples. Plain arrays,
 * so a fit on another backend can use them.
 */
export interface LearningCache {
  split: HeadSplit;
  /** The registry head's weights, so a copy can be made on any backend. */
  registryWeights: StoredWeight[];
  replay: Features;
  holdout: Features;
  /** The replay and (sampled) standard held-out inputs themselves, for a candidate that aligns them. */
  replayInputs: Examples;
  holdoutInputs: Examples;
  /** What an alignment search needs (a classifier of images with replay examples only; null otherwise). */
  alignment: AlignmentBasis | null;
  /** The registry weights' probabilities for replay and holdout (set by the first fit). */
  registry?: { replay: Float32Array; holdout: Float32Array };
}

/**
 * The loaded version's learning cache (built once: replay and holdout files verified and read
 * through the registry model's feature layers; about a quarter of a second for the digits
 * model on wasm). A version may ship neither file: its replay and holdout are then empty (the
 * fine-tune says what that leaves out). A build that fails is tried again by the next call.
 *
 * @example
 * const { split, replay, holdout } = await learningCache(runtime, loaded);
 */
export function learningCache(runtime: Runtime, loaded: LoadedModel): Promise<LearningCache> {
  if (loaded.learning) return loaded.learning;
  const building = buildLearningCache(runtime, loaded);
  loaded.learning = building;
  building.catch(() => {
    if (loaded.learning === building) delete loaded.learning;
  });
  return building;
}

/**
 * Whether the learning cache is cheap enough to build ahead, queued before the next predict:
 * on wasm (about 0.2 s for the digits model) or WebGPU on a hardware adapter. On tfjs-cpu and
 * on a software adapter (SwiftShader) it takes seconds to minutes, and the first fine-tune
 * builds it instead.
 */
export function preparesAhead(loaded: LoadedModel): boolean {
  const { backend, adapter } = loaded.backend;
  return backend === 'wasm' || (backend === 'webgpu' && adapter?.isFallbackAdapter === false);
}

/**
 * Builds the learning cache ahead of a first fine-tune (the worker does once the device records
 * a label, where {@link preparesAhead}): a training then starts at its fit. Never rejects: a
 * model that cannot be fine-tuned says so when `train` is called.
 *
 * @example
 * await prepareLearning(runtime, loaded);
 */
export async function prepareLearning(runtime: Runtime, loaded: LoadedModel): Promise<void> {
  await learningCache(runtime, loaded).catch(() => undefined);
}

async function buildLearningCache(runtime: Runtime, loaded: LoadedModel): Promise<LearningCache> {
  const split = headSplit(loaded);
  const replay = await roleExamples(runtime, loaded, 'replay', { optional: true });
  const holdout = sampled(await roleExamples(runtime, loaded, 'holdout', { optional: true }), MAX_STANDARD_EXAMPLES);
  // An alignment is chosen by the likelihood the model gives labels, and placed by its usual inputs.
  const aligns =
    loaded.registry.inputs.length === 1 &&
    isImageShape(loaded.inputShape) &&
    trainTask(loaded.info.manifest) === 'classification';
  return {
    split,
    registryWeights: await readWeights(split.layers),
    replay: await featuresOf(split, loaded.inputShape, replay),
    holdout: await featuresOf(split, loaded.inputShape, holdout),
    replayInputs: replay,
    holdoutInputs: holdout,
    alignment: aligns && replay.count > 0 ? alignmentBasis(loaded, replay) : null,
  };
}

/** The model's input range and usual ink, from its replay examples. */
function alignmentBasis(loaded: LoadedModel, replay: Examples): AlignmentBasis {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const value of replay.inputs) {
    lo = Math.min(lo, value);
    hi = Math.max(hi, value);
  }
  return {
    model: loaded.registry,
    inputShape: loaded.inputShape,
    range: lo < hi ? [lo, hi] : [0, 1],
    reference: inkMoments(replay.inputs, replay.count, loaded.inputShape, false),
  };
}

/**
 * Features of examples through the split's extractor (after `alignment`, when given), batched,
 * read back asynchronously.
 *
 * @example
 * const features = await featuresOf(split, [28, 28, 1], examples);
 */
export async function featuresOf(
  split: HeadSplit,
  inputShape: number[],
  examples: Examples,
  alignment?: Alignment,
): Promise<Features> {
  const { extractor, featureSize: size } = split;
  if (!extractor && !alignment) return examples;
  const prepare = alignment ? (x: tf.Tensor) => alignInputs(x as tf.Tensor4D, alignment) : undefined;
  const features = await outputsOf(extractor, inputShape, examples.inputs, examples.count, prepare);
  return { count: examples.count, size, inputs: features, labels: examples.labels };
}

/**
 * A model's (first) output for `count` inputs of `inputShape` (features for a head or gate,
 * images for a whole model), flattened row-major, batched and read back asynchronously; the
 * inputs go through `prepare` first when given (a null model: its result is the output). A
 * model of several inputs takes rows of all of them (rows.ts), by its own input shapes.
 *
 * @example
 * const probabilities = await outputsOf(head, [5, 5, 32], features.inputs, features.count);
 */
export async function outputsOf(
  model: tfl.LayersModel | null,
  inputShape: number[],
  inputs: Float32Array,
  count: number,
  prepare: (x: tf.Tensor) => tf.Tensor = (x) => x,
): Promise<Float32Array> {
  const several = model !== null && model.inputs.length > 1;
  const size = several ? rowSize(model) : inputShape.reduce((a, b) => a * b, 1);
  const width = model ? (model.outputs[0]?.shape.slice(1) ?? []).reduce<number>((a, b) => a * (b ?? 1), 1) : size;
  const all = new Float32Array(count * width);
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const batch = inputs.subarray(start * size, (start + n) * size);
    const out = await onBackend('evaluate', () =>
      tf.tidy(() => {
        if (several) return firstOutput(model.predict(batchInputs(model, inputs, start, n), { batchSize: n }));
        const x = prepare(tf.tensor(batch, [n, ...inputShape]));
        // In one pass: predict's default batches of 32 cost more in slicing than in the model.
        return model ? firstOutput(model.predict(x, { batchSize: n })) : x;
      }),
    );
    try {
      all.set((await onBackend('read evaluation', () => out.data())) as Float32Array, start * width);
    } finally {
      out.dispose();
    }
  }
  return all;
}

/**
 * At most `limit` examples in the file's order: each class in its share (class labels), or
 * evenly spaced through the file (regression values).
 */
function sampled(examples: Examples, limit: number): Examples {
  if (examples.count <= limit) return examples;
  if (examples.labels instanceof Float32Array) {
    const step = examples.count / limit;
    return pick(
      examples,
      Array.from({ length: limit }, (_, i) => Math.floor(i * step)),
    );
  }
  const byClass = new Map<number, number[]>();
  examples.labels.forEach((label, i) => {
    byClass.set(label, [...(byClass.get(label) ?? []), i]);
  });
  const keep: number[] = [];
  for (const indexes of byClass.values()) {
    keep.push(...indexes.slice(0, Math.round((indexes.length * limit) / examples.count)));
  }
  return pick(
    examples,
    keep.sort((a, b) => a - b),
  );
}
