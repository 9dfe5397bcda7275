import * as tf from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import { seededRandom } from '../../protocol/random.ts';
import { TrainOptions } from '../../protocol/train.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { type Examples, roleExamples, type UserExamples } from '../train/examples.ts';
import { type Features, featuresOf, outputsOf } from '../train/features.ts';
import { augmentedFeatures } from '../train/fine-tune.ts';
import { fitHead, yieldToEvents } from '../train/fit.ts';
import { trainingBackend } from '../train/gradient-check.ts';
import { seedOf } from '../train/guard.ts';
import { cloneHead, disposeWeights, type HeadSplit, readWeights, type StoredWeight } from '../train/head.ts';
import { headSplit } from '../train/personal.ts';
import type { Step } from './base.ts';
import type { TrainedWeight } from './delta.ts';

/** Replay share and augmentation as `train()` uses them by default. */
const DEFAULTS = v.parse(TrainOptions, { v: 1 });

/** What the fit reads of the base: its head, the head's registry weights, the replay features. */
interface ReplayData {
  split: HeadSplit;
  registryWeights: StoredWeight[];
  replay: Features;
}

export interface RoundFitSettings {
  epochs: number;
  learningRate: number;
  /** Seeds the augmentation and batches: the same round and labels train the same update. */
  seed: string;
  signal: AbortSignal;
}

/**
 * Fine-tunes a copy of the base's head (train/head.ts) on the user's examples as they are, with
 * no personal alignment and no gate, since the update must improve the shared model on raw
 * inputs: features of the examples and their augmented copies (images), each step as many
 * replay examples distilled from the registry head's own probabilities (train/fit.ts), Adam at
 * the round's learning rate for its epochs, on the backend `train()` would train on. Each stage
 * runs as one `step` (predictions queued meanwhile run between them) and yields after it.
 * Returns each head weight by its model.json name with the base's and the fine-tuned values.
 *
 * @example
 * const trained = await fitRoundHead(runtime, base, examples, { epochs: 3, learningRate: 3e-3, seed, signal }, step);
 */
export async function fitRoundHead(
  runtime: Runtime,
  base: LoadedModel,
  examples: UserExamples,
  settings: RoundFitSettings,
  step: Step,
): Promise<TrainedWeight[]> {
  const { signal } = settings;
  const data = await step(() => replayData(runtime, base));
  await yieldToEvents(signal);
  const random = seededRandom(seedOf(settings.seed));
  const { user, replayTargets } = await step(async () => {
    const user = await augmentedFeatures(base, examples, DEFAULTS.augment, random);
    const { layers, featureShape } = data.split;
    const registryHead = cloneHead(layers, featureShape, data.registryWeights);
    try {
      return {
        user,
        replayTargets: await outputsOf(registryHead, featureShape, data.replay.inputs, data.replay.count),
      };
    } finally {
      disposeWeights(registryHead);
    }
  });
  await yieldToEvents(signal);
  const trained = await step(async () => {
    const training = await trainingBackend(runtime, data, user.features);
    const serving = runtime.backends.active ?? 'cpu';
    if (training.backend !== serving)
      await runtime.backends.activate(training.backend, runtime.env, runtime.backendConfig);
    try {
      return await fitCopy(data, { ...user.features, weights: user.weights }, replayTargets, base.classes, {
        ...settings,
        random,
      });
    } finally {
      if (training.backend !== serving) await runtime.backends.activate(serving, runtime.env, runtime.backendConfig);
    }
  });
  await yieldToEvents(signal);
  const names = data.split.layers.flatMap((layer) => layer.weights.map((w) => w.originalName));
  return names.map((name, i) => ({
    name,
    base: (data.registryWeights[i] as StoredWeight).values,
    trained: (trained[i] as StoredWeight).values,
  }));
}

/** Replay data built here, per loaded model (and gone with it), for the rounds after the first. */
const built = new WeakMap<LoadedModel, Promise<ReplayData>>();

/**
 * The base's replay features: from the fine-tune's learning cache when one was built, else the
 * replay file alone (no standard held-out set: nothing is judged here), built once per model.
 */
async function replayData(runtime: Runtime, base: LoadedModel): Promise<ReplayData> {
  const cache = base.learning ? await base.learning.catch(() => null) : null;
  if (cache) return cache;
  let data = built.get(base);
  if (!data) {
    data = buildReplayData(runtime, base);
    built.set(base, data);
    data.catch(() => built.delete(base));
  }
  return data;
}

async function buildReplayData(runtime: Runtime, base: LoadedModel): Promise<ReplayData> {
  const split = headSplit(base);
  const replay: Examples = await roleExamples(runtime, base, 'replay');
  return {
    split,
    registryWeights: await readWeights(split.layers),
    replay: await featuresOf(split, base.inputShape, replay),
  };
}

/** Fits a fresh copy of the registry head and reads its weights back (order of `readWeights(split.layers)`). */
async function fitCopy(
  data: ReplayData,
  user: Features & { weights: Float32Array },
  replayTargets: Float32Array,
  classes: number,
  settings: RoundFitSettings & { random: () => number },
): Promise<StoredWeight[]> {
  const { split, replay } = data;
  const shape = split.featureShape;
  const head = cloneHead(split.layers, shape, data.registryWeights);
  try {
    const tensors = tf.tidy(() => ({
      user: tf.tensor(user.inputs, [user.count, ...shape]),
      userTargets: tf.oneHot(tf.tensor1d(user.labels, 'int32'), classes) as tf.Tensor2D,
      userWeights: tf.tensor1d(user.weights),
      replay: tf.tensor(replay.inputs, [replay.count, ...shape]),
      replayTargets: tf.tensor2d(replayTargets, [replay.count, classes]),
    }));
    try {
      await fitHead(head, tensors, {
        loss: 'cross-entropy',
        epochs: settings.epochs,
        learningRate: settings.learningRate,
        replayRatio: DEFAULTS.replayRatio,
        signal: settings.signal,
        random: settings.random,
        onEpoch: () => undefined,
      });
    } finally {
      tf.dispose(tensors);
    }
    return await readWeights(head.layers);
  } finally {
    disposeWeights(head);
  }
}
