import * as tf from '@tensorflow/tfjs-core';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { FileRole } from '../../protocol/manifest.ts';
import { type PredictionRow, withStorage } from '../db.ts';
import { fetchVerified, pathsWithRole, storedFile } from '../infer/files.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';

/** Labelled inputs, flat: example i is `inputs[i * size … (i + 1) * size)` with label `labels[i]`. */
export interface Examples {
  count: number;
  size: number;
  inputs: Float32Array;
  labels: Int32Array;
}

/**
 * Decodes the record files shipped with a model (`replay.bin`, `holdout.bin`): each record is
 * 1 label byte followed by `size` input bytes (0–255), scaled here to [0, 1] as predict expects.
 * For digits that is DIGIT_RECORD_BYTES = 785.
 */
export function decodeRecords(bytes: Uint8Array, size: number, name: string): Examples {
  const recordBytes = size + 1;
  if (bytes.length % recordBytes !== 0) {
    throw new EdgeloopError('INVALID_MANIFEST', `${name}: ${bytes.length} bytes is not a multiple of ${recordBytes}`);
  }
  const count = bytes.length / recordBytes;
  const inputs = new Float32Array(count * size);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * recordBytes;
    labels[i] = bytes[at] as number;
    for (let j = 0; j < size; j++) inputs[i * size + j] = (bytes[at + 1 + j] as number) / 255;
  }
  return { count, size, inputs, labels };
}

/**
 * Downloads (or reads from the cache), verifies and decodes the model's records with a role.
 *
 * @example
 * const holdout = await roleExamples(runtime, loaded, 'holdout');
 */
export async function roleExamples(runtime: Runtime, loaded: LoadedModel, role: FileRole): Promise<Examples> {
  const [path] = pathsWithRole(loaded.info, role);
  if (!path) {
    throw new EdgeloopError('MISSING_FILE', `${loaded.name} v${loaded.version} ships no file with role ${role}`);
  }
  const { bytes } = await fetchVerified(runtime, loaded.info, storedFile(loaded.info, path));
  const examples = decodeRecords(new Uint8Array(bytes), loaded.inputSize, path);
  if (examples.labels.some((label) => label >= loaded.classes)) {
    throw new EdgeloopError('INVALID_MANIFEST', `${path}: a label is not a class of ${loaded.name}`);
  }
  return examples;
}

/**
 * The user's labelled examples for the loaded model: the input of each prediction with the
 * latest label given to it (highest outbox seq: corrections win).
 */
export async function feedbackExamples(runtime: Runtime, loaded: LoadedModel): Promise<Examples> {
  const { db } = runtime;
  const rows = await withStorage('read feedback', () => db.feedback.toArray());
  const latest = new Map<string, { label: number; seq: number }>();
  for (const row of rows) {
    const seen = latest.get(row.predictionId);
    if (!seen || row.seq > seen.seq) latest.set(row.predictionId, row);
  }
  // In labelling order, so a run does not depend on the random ids' order.
  const ids = [...latest.entries()].sort((a, b) => a[1].seq - b[1].seq).map(([id]) => id);
  const predictions = await withStorage('read predictions', () => db.predictions.bulkGet(ids));
  const usable = predictions.filter(
    (p): p is PredictionRow => p !== undefined && p.model === loaded.name && p.input.length === loaded.inputSize,
  );
  const size = loaded.inputSize;
  const inputs = new Float32Array(usable.length * size);
  const labels = new Int32Array(usable.length);
  usable.forEach((prediction, i) => {
    inputs.set(prediction.input, i * size);
    labels[i] = latest.get(prediction.id)?.label ?? 0;
  });
  return { count: usable.length, size, inputs, labels };
}

/**
 * Replay examples per epoch never fall below this: with only a handful of corrections,
 * `ratio` alone leaves too few standard examples to anchor the model (10 corrections with
 * 40 replayed cost up to 2 points of held-out accuracy in Chromium; with 160, under 1).
 */
export const MIN_REPLAY_PER_EPOCH = 160;

/** How many replay examples one epoch mixes in for `count` feedback examples. */
export function replayCount(count: number, ratio: number, available: number): number {
  return Math.min(available, Math.max(MIN_REPLAY_PER_EPOCH, Math.round(count * ratio)));
}

/**
 * One epoch's training set: every feedback example plus random replay examples (see
 * {@link replayCount}), without repeats while the replay set lasts.
 */
export function mixWithReplay(feedback: Examples, replay: Examples, ratio: number): Examples {
  const take = replayCount(feedback.count, ratio, replay.count);
  const picks = sampleIndexes(replay.count, take);
  const count = feedback.count + take;
  const { size } = feedback;
  const inputs = new Float32Array(count * size);
  const labels = new Int32Array(count);
  inputs.set(feedback.inputs);
  labels.set(feedback.labels);
  picks.forEach((from, k) => {
    const to = feedback.count + k;
    inputs.set(replay.inputs.subarray(from * size, (from + 1) * size), to * size);
    labels[to] = replay.labels[from] as number;
  });
  return { count, size, inputs, labels };
}

/** The first `limit` examples (or all of them). */
export function firstExamples(examples: Examples, limit: number): Examples {
  const count = Math.min(limit, examples.count);
  const { size } = examples;
  return { count, size, inputs: examples.inputs.subarray(0, count * size), labels: examples.labels.subarray(0, count) };
}

function sampleIndexes(n: number, k: number): number[] {
  const indexes = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(Math.random() * (n - i));
    [indexes[i], indexes[j]] = [indexes[j] as number, indexes[i] as number];
  }
  return indexes.slice(0, k);
}

/** Input and one-hot target tensors for examples; the caller disposes them. */
export function exampleTensors(
  examples: Examples,
  inputShape: number[],
  classes: number,
): { xs: tf.Tensor; ys: tf.Tensor } {
  return tf.tidy(() => ({
    xs: tf.tensor(examples.inputs, [examples.count, ...inputShape]),
    ys: tf.oneHot(tf.tensor1d(examples.labels, 'int32'), classes),
  }));
}
