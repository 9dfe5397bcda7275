import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import { CLIENT_TOKEN_HEADER, type ClientIdentity } from '../../protocol/clients.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import type { Round } from '../../protocol/rounds.ts';
import { encodeExamples } from '../../protocol/tensors/examples.ts';
import { savedFiles } from './dense-model.ts';
import { ADMIN_KEY, api, CLIENT_KEY, publish, sendJson } from './helpers.ts';

// A round's model made in the test: softmax(x·K + b) over 3 inputs and 2 classes, base weights
// K = [[1, 0], [0, 1], [0, 0]], b = 0 (class 1 when x1 > x0). The truth of its holdout set is
// class 1 when x1 + x2 > x0, so an update that sets K[2][1] (value 5 in weights.bin order:
// the kernel row-major, then the bias) up by 1 makes it right everywhere.

/** Values in weights.bin: kernel 3×2 then bias 2. */
export const VALUES = 8;
/** Index of K[2][1] in weights.bin order. */
export const HELPFUL = 5;

/** Where the round model's holdout set is: the examples container, or legacy records (still read). */
export type HoldoutLayout = 'safetensors' | 'legacy';
const holdoutPath = (layout: HoldoutLayout) => (layout === 'legacy' ? 'holdout.bin' : 'holdout.safetensors');

export const roundManifest = (name: string, layout: HoldoutLayout = 'safetensors'): Manifest => ({
  v: 1,
  name,
  format: 'tfjs-layers',
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 2] }],
  labels: ['a', 'b'],
  features: { features: [] },
  files: [
    { path: 'model.json', role: 'model' },
    { path: 'weights.bin', role: 'weights' },
    { path: holdoutPath(layout), role: 'holdout' },
  ],
});

/**
 * 300 examples of three input bytes (value = byte / 255) labelled by the truth above, as a
 * safetensors examples file or as legacy records of a label byte and the three input bytes.
 */
function holdout(layout: HoldoutLayout = 'safetensors'): Uint8Array {
  const inputs = new Uint8Array(300 * 3);
  const labels = new Int32Array(300);
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % 256;
  };
  for (let i = 0; i < 300; i++) {
    const x = [next(), next(), next()];
    labels[i] = (x[1] as number) + (x[2] as number) > (x[0] as number) ? 1 : 0;
    inputs.set(x, i * 3);
  }
  if (layout === 'safetensors') return encodeExamples({ shape: [3], inputs, scale: 1 / 255, labels });
  const records = new Uint8Array(300 * 4);
  for (let i = 0; i < 300; i++) {
    records[i * 4] = labels[i] as number;
    records.set(inputs.subarray(i * 3, i * 3 + 3), i * 4 + 1);
  }
  return records;
}

/**
 * Publishes the round model as the next version of `name` (its holdout set in `layout`, or
 * the bytes given) and points production at it.
 */
export async function publishRoundModel(
  name: string,
  layout: HoldoutLayout = 'safetensors',
  holdoutBytes = holdout(layout),
): Promise<number> {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2, activation: 'softmax' })] });
  model.setWeights([
    tf.tensor2d([
      [1, 0],
      [0, 1],
      [0, 0],
    ]),
    tf.tensor1d([0, 0]),
  ]);
  const files = { ...(await savedFiles(model)), [holdoutPath(layout)]: holdoutBytes };
  const res = await publish(name, files, roundManifest(name, layout));
  expect(res.status, await res.clone().text()).toBe(201);
  const { version } = (await res.json()) as { version: number };
  const set = await sendJson('PUT', `/v1/models/${name}/aliases/production`, { version }, ADMIN_KEY);
  expect(set.status).toBe(200);
  return version;
}

/** Opens a round with `settings` (deadline default a minute away). */
export async function openRound(name: string, settings: Record<string, unknown> = {}): Promise<Round> {
  const res = await sendJson(
    'POST',
    `/v1/models/${name}/rounds`,
    { v: 1, settings: { deadline: Date.now() + 60_000, ...settings } },
    ADMIN_KEY,
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Round;
}

/** A delta of `VALUES` values with `at` set (the rest 0). */
export const delta = (at: Record<number, number>): Float32Array => {
  const out = new Float32Array(VALUES);
  for (const [i, value] of Object.entries(at)) out[Number(i)] = value;
  return out;
};

/** Posts an update as the client of `identity`. */
export function sendUpdate(
  name: string,
  roundId: string,
  identity: ClientIdentity | null,
  body: BodyInit,
  headers: Record<string, string> = { 'Edgeloop-Examples': '20' },
): Promise<Response> {
  const all: Record<string, string> = { 'Content-Type': 'application/octet-stream', ...headers };
  if (identity) all[CLIENT_TOKEN_HEADER] = identity.token;
  return api(`/v1/models/${name}/rounds/${roundId}/updates`, { method: 'POST', key: CLIENT_KEY, headers: all, body });
}

/** Asks for the current round as a device (counted as eligible). */
export async function askCurrent(name: string, identity: ClientIdentity): Promise<Response> {
  return api(`/v1/models/${name}/rounds/current`, {
    key: CLIENT_KEY,
    headers: { [CLIENT_TOKEN_HEADER]: identity.token },
  });
}

/** Runs the model's RoundCoordinator alarm now (closing rounds that are due). */
export async function runRoundAlarm(name: string): Promise<void> {
  await runDurableObjectAlarm(env.ROUNDS.get(env.ROUNDS.idFromName(name)));
}

/** A round as the read API shows it. */
export async function readRound(name: string, id: string): Promise<Round> {
  const res = await api(`/v1/models/${name}/rounds/${id}`, { key: ADMIN_KEY });
  expect(res.status).toBe(200);
  return (await res.json()) as Round;
}

/**
 * Runs the alarm and waits until the round is over (the alarm may already be running: a full
 * round schedules it at once), for at most ten seconds.
 */
export async function settledRound(name: string, id: string): Promise<Round> {
  await runRoundAlarm(name);
  for (let i = 0; i < 200; i++) {
    const round = await readRound(name, id);
    if (!['open', 'aggregating', 'gating'].includes(round.status)) return round;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`round ${id} of ${name} did not finish`);
}
