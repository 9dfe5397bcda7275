import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { userStyle } from '../../models/digits/user-styles.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import { parseModelJson } from '../../protocol/model-json.ts';
import { seededRandom } from '../../protocol/random.ts';
import type { InitOptions } from '../../protocol/worker-api.ts';
import type { WorkerDeps } from '../api.ts';
import { buildModel } from '../infer/model-artifacts.ts';
import { holdoutDigits, publishDigits } from './digits.ts';
import { FakeEdge } from './fake-edge.ts';
import { startWorker } from './harness.ts';

// Helpers of the federated tests (worker/federated/*.test.ts): the real digits model, a user
// who writes tilted digits, and the model's accuracy with given weights.

export type DigitsWorker = Awaited<ReturnType<typeof startWorker>>;

const digits = holdoutDigits();
/** The digits model's conv weights come first in weights.bin (3·3·1·16 + 16 + 3·3·16·32 + 32 values), then the dense ones. */
export const CONV_VALUES = 4800;
export const DIGITS_VALUES = 30_762;
const ROUNDS = '/v1/models/digits/rounds/';

/** A worker on tfjs-cpu with the real digits model loaded (v1 on production); `init` adds init options. */
export async function digitsWorker(
  options: { edge?: FakeEdge; init?: Partial<InitOptions>; deps?: Partial<WorkerDeps> } = {},
): Promise<DigitsWorker> {
  const edge = options.edge ?? new FakeEdge();
  if (!edge.versions.has('digits/1')) await publishDigits(edge);
  const worker = await startWorker({ ...options, edge, backend: 'cpu' });
  await worker.api.load({ v: 1, model: 'digits' });
  return worker;
}

/** Held-out digits `from … from + count`, tilted as one user writes them. */
export function tilted(from: number, count: number): { images: Float32Array[]; labels: number[] } {
  const random = seededRandom(from + 1);
  const { apply } = userStyle('tilted');
  return {
    images: digits.images.slice(from, from + count).map((image) => apply(image, random)),
    labels: digits.labels.slice(from, from + count),
  };
}

/** Predicts and labels `count` tilted digits. */
export async function label({ api }: DigitsWorker, count: number): Promise<void> {
  const { images, labels } = tilted(0, count);
  for (const [i, image] of images.entries()) {
    const { predictionId } = await api.predict(image);
    await api.feedback(predictionId, labels[i] ?? 0);
  }
}

/** The requests to `…/rounds/{id}/<action>` (updates, evaluations, candidate) with `method`. */
export const roundRequests = (edge: FakeEdge, action: string, method = 'POST') =>
  edge.requests.filter((r) => r.method === method && r.path.startsWith(ROUNDS) && r.path.endsWith(`/${action}`));
export const updatePosts = (edge: FakeEdge) => roundRequests(edge, 'updates');
export const norm = (values: Float32Array) => Math.sqrt(values.reduce((sum, x) => sum + x * x, 0));

/** digits v1's weights.bin as float32 values (weightsManifest order). */
export function baseWeights(edge: FakeEdge): Float32Array<ArrayBuffer> {
  const bytes = edge.bytes.get('digits/1/weights.bin') as Uint8Array;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** Examples of `images` the digits model gets right with weights.bin + `delta` (or the base's weights alone). */
export async function correctWith(
  edge: FakeEdge,
  delta: Float32Array | null,
  images: Float32Array[],
  labels: number[],
) {
  const weights = baseWeights(edge);
  for (let i = 0; delta && i < weights.length; i++) weights[i] = (weights[i] as number) + (delta[i] as number);
  const modelJson = parseModelJson((edge.bytes.get('digits/1/model.json') as Uint8Array).slice().buffer, 'model.json');
  const model: tfl.LayersModel = await buildModel(modelJson, [weights.buffer]);
  try {
    const predicted = tf.tidy(() =>
      tf.argMax(
        model.predict(
          tf.tensor(
            images.flatMap((i) => [...i]),
            [images.length, 28, 28, 1],
          ),
        ) as tf.Tensor,
        1,
      ),
    );
    const labelsOut = (await predicted.data()) as Int32Array;
    predicted.dispose();
    return labelsOut.filter((l, i) => l === labels[i]).length;
  } finally {
    model.dispose();
  }
}

/** Accuracy (share right) of the digits model with weights.bin + `delta` on `images`. */
export async function accuracyWith(
  edge: FakeEdge,
  delta: Float32Array | null,
  images: Float32Array[],
  labels: number[],
) {
  return (await correctWith(edge, delta, images, labels)) / images.length;
}

/** Opens a round on digits v1 (`settings` as `rounds.open` takes them), trains and sends an update for it; its values. */
export async function contribute(
  worker: DigitsWorker,
  settings: Parameters<FakeEdge['rounds']['open']>[2] = {},
): Promise<{ roundId: string; delta: Float32Array }> {
  const round = worker.edge.rounds.open('digits', 1, settings);
  const result = await worker.api.participate();
  const update = worker.edge.rounds.get(round.id).updates.get(worker.clientId ?? '');
  if (result.status !== 'sent' || !update) throw new Error(`no update: ${JSON.stringify(result)}`);
  return { roundId: round.id, delta: update.values };
}

/** The examples the worker held out of round `roundId`, read from its database with their latest labels. */
export async function heldOutOf(worker: DigitsWorker, roundId: string) {
  const db = worker.db();
  const ids = (await db.updates.get(`digits/${roundId}`))?.heldOut ?? [];
  const feedback = (await db.feedback.toArray()).sort((a, b) => a.seq - b.seq);
  const labels = new Map(feedback.map((f) => [f.predictionId, f.label]));
  const predictions = await db.predictions.bulkGet(ids);
  return {
    images: predictions.map((p) => p?.input ?? new Float32Array()),
    labels: ids.map((id) => labels.get(id) ?? -1),
  };
}

/** Element-wise `a + b` in float32. */
export const plus = (a: Float32Array, b: Float32Array) => Float32Array.from(a, (x, i) => x + (b[i] as number));

/** The error a promise rejects with, or null when it resolves. */
export const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );
