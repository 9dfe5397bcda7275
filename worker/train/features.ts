import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { onBackend } from '../backends/errors.ts';
import { firstOutput } from '../infer/run-model.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { type Examples, pick, roleExamples } from './examples.ts';
import { type HeadSplit, readWeights, type StoredWeight } from './head.ts';
import { headSplit } from './personal.ts';

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
  /** The registry weights' probabilities for replay and holdout (set by the first fit). */
  registry?: { replay: Float32Array; holdout: Float32Array };
}

/**
 * The loaded version's learning cache (built once: replay and holdout files verified and read
 * through the registry model's feature layers).
 *
 * @example
 * const { split, replay, holdout } = await learningCache(runtime, loaded);
 */
export async function learningCache(runtime: Runtime, loaded: LoadedModel): Promise<LearningCache> {
  if (loaded.learning) return loaded.learning;
  const split = headSplit(loaded);
  const replay = await roleExamples(runtime, loaded, 'replay');
  const holdout = stratified(await roleExamples(runtime, loaded, 'holdout'), MAX_STANDARD_EXAMPLES);
  const cache: LearningCache = {
    split,
    registryWeights: await readWeights(split.layers),
    replay: await featuresOf(split, loaded.inputShape, replay),
    holdout: await featuresOf(split, loaded.inputShape, holdout),
  };
  loaded.learning = cache;
  return cache;
}

/**
 * Features of examples through the split's extractor, batched, read back asynchronously.
 *
 * @example
 * const features = await featuresOf(split, [28, 28, 1], examples);
 */
export async function featuresOf(split: HeadSplit, inputShape: number[], examples: Examples): Promise<Features> {
  const { extractor, featureSize: size } = split;
  if (!extractor) return examples;
  const features = await outputsOf(extractor, inputShape, examples.inputs, examples.count);
  return { count: examples.count, size, inputs: features, labels: examples.labels };
}

/**
 * A model's (first) output for `count` inputs of `inputShape` (features for a head or gate,
 * images for a whole model), flattened row-major, batched and read back asynchronously.
 *
 * @example
 * const probabilities = await outputsOf(head, [5, 5, 32], features.inputs, features.count);
 */
export async function outputsOf(
  model: tfl.LayersModel,
  inputShape: number[],
  inputs: Float32Array,
  count: number,
): Promise<Float32Array> {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const width = (model.outputs[0]?.shape.slice(1) ?? []).reduce<number>((a, b) => a * (b ?? 1), 1);
  const all = new Float32Array(count * width);
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const batch = inputs.subarray(start * size, (start + n) * size);
    const out = await onBackend('evaluate', () =>
      tf.tidy(() => firstOutput(model.predict(tf.tensor(batch, [n, ...inputShape])))),
    );
    try {
      all.set((await onBackend('read evaluation', () => out.data())) as Float32Array, start * width);
    } finally {
      out.dispose();
    }
  }
  return all;
}

/** At most `limit` examples, each class in its share, in the file's order within a class. */
function stratified(examples: Examples, limit: number): Examples {
  if (examples.count <= limit) return examples;
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
