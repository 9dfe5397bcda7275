import { expect } from 'vitest';
import type { Run } from '../../protocol/runs.ts';
import { ADMIN_KEY, api, modelFiles, publish, sendAsClient } from './helpers.ts';

// Shared by the runs tests: runs are of published models, created and written with a key and,
// for a device, its client token.

const published = new Set<string>();

/** Publishes `n` versions of `model`. */
export async function publishVersions(model: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const res = await publish(model, modelFiles(`v${i}`, { weight: i }));
    expect(res.status).toBe(201);
  }
  published.add(model);
}

/** Publishes one version of `model` unless a test already did: runs are of published models. */
export async function ensureModel(model: string): Promise<void> {
  if (!published.has(model)) await publishVersions(model, 1);
}

/** Creates a run with `key` (admin by default; a client key needs the device's `token`) and returns it. */
export async function createRun(body: Record<string, unknown>, key = ADMIN_KEY, token?: string): Promise<Run> {
  await ensureModel(body.model as string);
  const res = await sendAsClient('POST', '/v1/runs', { v: 1, ...body }, token, key);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Run;
}

export const logMetrics = (id: string, metrics: unknown[], key = ADMIN_KEY, token?: string) =>
  sendAsClient('POST', `/v1/runs/${id}/metrics`, { v: 1, metrics }, token, key);

/** Posts a raw JSON text, so values JSON.stringify cannot produce (1e999) reach the Worker. */
export const postRaw = (path: string, text: string, key = ADMIN_KEY) =>
  api(path, { method: 'POST', key, headers: { 'Content-Type': 'application/json' }, body: text });

export async function getRun(id: string): Promise<Run> {
  const res = await api(`/v1/runs/${id}`, { key: ADMIN_KEY });
  expect(res.status).toBe(200);
  return (await res.json()) as Run;
}
