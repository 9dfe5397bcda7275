import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Alignment } from './align.ts';
import type { TrainTask } from './examples.ts';
import { type Features, featuresOf, type LearningCache, outputsOf } from './features.ts';
import { fitGate, fitHead } from './fit.ts';
import {
  buildGate,
  cloneHead,
  disposeWeights,
  gateShape,
  type MixKind,
  mixProbabilities,
  mixValues,
  personalStrength,
  readWeights,
  type StoredWeight,
  VIEW_CONFIDENCES,
  viewConfidences,
} from './head.ts';

/**
 * A fitted personal head and its gate, on the backend that fitted them, its strength (head.ts),
 * and the alignment its head reads the user's inputs through (null: the registry's features).
 */
export interface Candidate {
  head: tfl.LayersModel;
  gate: tfl.LayersModel;
  strength: number;
  alignment: Alignment | null;
  kind: MixKind;
}

/**
 * The user's examples as a fit takes them (augmented copies included): the features the head
 * reads (of the aligned inputs), labels, weights, and what the gate reads (head.ts `gateShape`).
 */
export interface UserFeatures extends Features {
  weights: Float32Array;
  gateInputs: Float32Array;
}

/** The same examples as each part of a candidate reads them: the head (aligned) and the gate. */
export interface CandidateFeatures {
  head: Features;
  gate: Features;
}

export interface CandidateSettings {
  /** The user's labels the fit learns from (augmented copies not counted). */
  labels: number;
  epochs: number;
  learningRate: number;
  replayRatio: number;
  /** The model's outputs: classes, or a regression model's values. */
  classes: number;
  task: TrainTask;
  /** Gradient steps per epoch at least (fit.ts). */
  minSteps?: number;
  signal: AbortSignal;
  random: () => number;
  onEpoch: (epoch: number, loss: number) => void;
}

/**
 * Fits a candidate: a copy of the registry head fine-tuned on the user's features (of the
 * aligned inputs, with an alignment) with replay, aligned the same way, distilled from
 * `replayTargets` (the registry weights' outputs for it unaligned), then its gate. Without
 * replay examples there is nothing to tell the user's inputs from, and the gate stays open.
 *
 * @example
 * const candidate = await fitCandidate(cache, user, replayTargets, settings);
 */
export async function fitCandidate(
  cache: LearningCache,
  user: UserFeatures,
  replayTargets: Float32Array,
  settings: CandidateSettings & { alignment: Alignment | null; registryHead: tfl.LayersModel },
): Promise<Candidate> {
  const { split, replay } = cache;
  const shape = split.featureShape;
  const { alignment } = settings;
  const alignedReplay =
    alignment && cache.alignment
      ? await featuresOf(split, cache.alignment.inputShape, cache.replayInputs, alignment)
      : replay;
  const replayGate = alignment
    ? await gateReads(settings.registryHead, shape, replay, replayTargets, alignedReplay)
    : replay.inputs;
  const gateInputs = gateShape(split, alignment !== null);
  const head = cloneHead(split.layers, shape, cache.registryWeights);
  const gate = buildGate(gateInputs);
  const data = tf.tidy(() => ({
    user: tf.tensor(user.inputs, [user.count, ...shape]),
    userGate: tf.tensor(user.gateInputs, [user.count, ...gateInputs]),
    userTargets:
      settings.task === 'regression'
        ? tf.tensor2d(user.labels, [user.count, 1])
        : (tf.oneHot(tf.tensor1d(user.labels, 'int32'), settings.classes) as tf.Tensor2D),
    userWeights: tf.tensor1d(user.weights),
    replay: tf.tensor(alignedReplay.inputs, [replay.count, ...shape]),
    replayGate: tf.tensor(replayGate, [replay.count, ...gateInputs]),
    replayTargets: tf.tensor2d(replayTargets, [replay.count, settings.classes]),
  }));
  try {
    const loss = settings.task === 'regression' ? 'squared-error' : 'cross-entropy';
    await fitHead(head, data, { ...settings, loss });
    if (replay.count > 0) await fitGate(gate, data.userGate, data.replayGate, settings.signal);
    else openGate(gate);
    const kind = settings.task === 'regression' ? 'linear' : 'log';
    return { head, gate, strength: personalStrength(settings.labels), alignment, kind };
  } catch (error) {
    disposeCandidate({ head, gate });
    throw error;
  } finally {
    tf.dispose(data);
  }
}

/** A gate that passes every input to the personal head: kernel 0, bias 30 (σ ≈ 1 − 1e-13). */
function openGate(gate: tfl.LayersModel): void {
  const [kernel, bias] = gate.trainableWeights.map((w) => w.read() as tf.Variable) as [tf.Variable, tf.Variable];
  tf.tidy(() => {
    kernel.assign(tf.zerosLike(kernel));
    bias.assign(tf.fill(bias.shape, 30));
  });
}

/**
 * What an aligned candidate's gate reads (head.ts `gateShape`) for examples: their registry
 * `features` followed by the view confidences of the registry's probabilities for them as they
 * are (`probabilities`) and aligned (from `aligned`, their aligned features).
 */
export async function gateReads(
  registryHead: tfl.LayersModel,
  shape: number[],
  features: Features,
  probabilities: Float32Array,
  aligned: Features,
): Promise<Float32Array> {
  const n = aligned.count;
  const alignedProbabilities = await outputsOf(registryHead, shape, aligned.inputs, n);
  const classes = alignedProbabilities.length / Math.max(1, n);
  const out = tf.tidy(() =>
    viewConfidences(tf.tensor2d(probabilities, [n, classes]), tf.tensor2d(alignedProbabilities, [n, classes])),
  );
  try {
    const confidences = (await out.data()) as Float32Array;
    const size = features.size + VIEW_CONFIDENCES;
    const reads = new Float32Array(n * size);
    for (let i = 0; i < n; i++) {
      reads.set(features.inputs.subarray(i * features.size, (i + 1) * features.size), i * size);
      reads.set(confidences.subarray(i * VIEW_CONFIDENCES, (i + 1) * VIEW_CONFIDENCES), i * size + features.size);
    }
    return reads;
  } finally {
    out.dispose();
  }
}

/**
 * The candidate's outputs for examples, as the served model mixes them (head.ts `GatedMix`),
 * where `registry` holds the registry weights' outputs for the same examples.
 */
export async function mixtureOf(
  candidate: Candidate,
  shape: number[],
  features: CandidateFeatures,
  registry: Float32Array,
): Promise<Float32Array> {
  const { strength } = candidate;
  const count = features.head.count;
  const personal = await outputsOf(candidate.head, shape, features.head.inputs, count);
  const gateShape = candidate.alignment ? [features.gate.size] : shape;
  const gate = await outputsOf(candidate.gate, gateShape, features.gate.inputs, count);
  const classes = personal.length / Math.max(1, count);
  const out = new Float32Array(personal.length);
  for (let i = 0; i < count; i++) {
    const row = (a: Float32Array) => a.subarray(i * classes, (i + 1) * classes);
    const mix = candidate.kind === 'linear' ? mixValues : mixProbabilities;
    mix(row(registry), row(personal), strength * (gate[i] as number), row(out));
  }
  return out;
}

/** The candidate's weights as arrays. */
export async function candidateWeights(candidate: Candidate): Promise<{ head: StoredWeight[]; gate: StoredWeight[] }> {
  return { head: await readWeights(candidate.head.layers), gate: await readWeights(candidate.gate.layers) };
}

export function disposeCandidate(candidate: Pick<Candidate, 'head' | 'gate'>): void {
  disposeWeights(candidate.head);
  disposeWeights(candidate.gate);
}
