import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Features, LearningCache } from './features.ts';
import { outputsOf } from './features.ts';
import { fitGate, fitHead } from './fit.ts';
import { buildGate, cloneHead, disposeWeights, personalStrength, readWeights, type StoredWeight } from './head.ts';

/** A fitted personal head and its gate, on the backend that fitted them, and its strength (head.ts). */
export interface Candidate {
  head: tfl.LayersModel;
  gate: tfl.LayersModel;
  strength: number;
}

/** The user's examples as a fit takes them: features (augmented copies included), labels, weights. */
export interface UserFeatures extends Features {
  weights: Float32Array;
}

export interface CandidateSettings {
  /** The user's labels the fit learns from (augmented copies not counted). */
  labels: number;
  epochs: number;
  learningRate: number;
  replayRatio: number;
  classes: number;
  signal: AbortSignal;
  random: () => number;
  onEpoch: (epoch: number, loss: number) => void;
}

/**
 * Fits a candidate: a copy of the registry head fine-tuned on the user's features with replay
 * distilled from `replayTargets` (the registry weights' probabilities), then its gate.
 *
 * @example
 * const candidate = await fitCandidate(cache, user, replayTargets, settings);
 */
export async function fitCandidate(
  cache: LearningCache,
  user: UserFeatures,
  replayTargets: Float32Array,
  settings: CandidateSettings,
): Promise<Candidate> {
  const { split, replay } = cache;
  const shape = split.featureShape;
  const head = cloneHead(split.layers, shape, cache.registryWeights);
  const gate = buildGate(shape);
  const data = tf.tidy(() => ({
    user: tf.tensor(user.inputs, [user.count, ...shape]),
    userTargets: tf.oneHot(tf.tensor1d(user.labels, 'int32'), settings.classes) as tf.Tensor2D,
    userWeights: tf.tensor1d(user.weights),
    replay: tf.tensor(replay.inputs, [replay.count, ...shape]),
    replayTargets: tf.tensor2d(replayTargets, [replay.count, settings.classes]),
  }));
  try {
    await fitHead(head, data, settings);
    await fitGate(gate, data.user, data.replay, settings.signal);
    return { head, gate, strength: personalStrength(settings.labels) };
  } catch (error) {
    disposeCandidate({ head, gate });
    throw error;
  } finally {
    tf.dispose(data);
  }
}

/**
 * The candidate's probabilities for features, as the served model mixes them (head.ts):
 * `registry + strength · gate · (head − registry)`, where `registry` holds the registry
 * weights' probabilities for the same features.
 */
export async function mixtureOf(
  candidate: Candidate,
  shape: number[],
  features: Features,
  registry: Float32Array,
): Promise<Float32Array> {
  const { strength } = candidate;
  const personal = await outputsOf(candidate.head, shape, features.inputs, features.count);
  const gate = await outputsOf(candidate.gate, shape, features.inputs, features.count);
  const classes = personal.length / Math.max(1, features.count);
  const out = new Float32Array(personal.length);
  for (let i = 0; i < out.length; i++) {
    const g = gate[Math.floor(i / classes)] as number;
    const r = registry[i] as number;
    out[i] = r + strength * g * ((personal[i] as number) - r);
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
