import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { graphManifest, graphModelFiles } from '../../models/samples/graph-model.ts';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { WINDOW_MS } from '../../protocol/profile/index.ts';
import { driftStub } from '../src/drift/stub.ts';
import { DENSE_WEIGHTS, denseFiles, denseManifest } from './dense-model.ts';
import { establishedClient } from './drift-helpers.ts';
import { ADMIN_KEY, api, CLIENT_KEY, publish, sendJson } from './helpers.ts';

// Inference at the edge feeds the version's drift profiles as a device's predictions do: the
// manifest's features computed from each example, the outputs' class counts, merged into the
// hour window by the version's DriftAggregator after the answer.

const WEIGHTS = DENSE_WEIGHTS;
const X = [
  [1, 2, 3], // y [4.5, 0.5]: class 0
  [0, 3, 0], // y [0.5, 5.5]: class 1
  [4, 0, 0], // y [4.5, -0.5]: class 0
];

const manifest = (name: string): Manifest => ({
  ...denseManifest(name),
  features: {
    features: [
      { name: 'first', kind: 'numeric', source: { index: 0 } },
      { name: 'mean', kind: 'numeric', source: { stat: 'mean' } },
      { name: 'device', kind: 'categorical' },
    ],
  },
});

const infer = (model: string, headers: Record<string, string> = {}) =>
  api(`/v2/models/${model}/versions/1/infer`, {
    method: 'POST',
    key: CLIENT_KEY,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [3, 3], datatype: 'FP32', data: X }] }),
  });

beforeAll(async () => {
  const res = await publish('dense-drift', await denseFiles(WEIGHTS), manifest('dense-drift'));
  expect(res.status, await res.clone().text()).toBe(201);
  expect((await sendJson('PUT', '/v1/models/dense-drift/aliases/production', { version: 1 }, ADMIN_KEY)).status).toBe(
    200,
  );
});

describe('OIP v2 infer feeds drift', () => {
  it("merges each answered batch into the version's current window, once, counted per client its token proves", async () => {
    const hour = Date.now() - (Date.now() % WINDOW_MS);
    const stub = driftStub(env, 'dense-drift', 1);
    const merged = () => stub.merged(hour - WINDOW_MS, hour + 2 * WINDOW_MS);
    const [a, b] = [await establishedClient(), await establishedClient()];
    expect((await infer('dense-drift', { [CLIENT_TOKEN_HEADER]: a.token })).status).toBe(200);
    await vi.waitFor(async () => expect((await merged()).profile?.count).toBe(3), { timeout: 10_000 });
    // Without a token the rows are the shared contributor's: kept, never judged.
    expect((await infer('dense-drift', { 'Edgeloop-Client-Id': 'client-a' })).status).toBe(200);
    await vi.waitFor(
      async () =>
        expect((await stub.judge(hour, hour + WINDOW_MS)).basis.heldBack.unverified).toEqual({
          rows: 3,
          contributors: 1,
        }),
      { timeout: 10_000 },
    );
    expect((await infer('dense-drift', { [CLIENT_TOKEN_HEADER]: b.token })).status).toBe(200);
    await vi.waitFor(async () => expect((await merged()).profile?.count).toBe(6), { timeout: 10_000 });
    const { profile, clients } = await merged();
    // Two judged contributors: edge:<a> and edge:<b>.
    expect(clients).toBe(2);
    const first = profile?.features.first;
    const mean = profile?.features.mean;
    const device = profile?.features.device;
    expect(first).toMatchObject({ kind: 'numeric', count: 6, missing: 0, min: 0, max: 4 });
    expect(mean).toMatchObject({ kind: 'numeric', count: 6, missing: 0 });
    if (mean?.kind !== 'numeric') throw new Error('mean is not numeric');
    expect(mean.mean).toBeCloseTo((2 + 1 + 4 / 3) / 3, 5);
    // The app supplies `device` on devices; the API does not.
    expect(device).toMatchObject({ count: 6, missing: 6 });
    expect(profile?.outputs).toMatchObject({ kind: 'classes', counts: [4, 2] });
  });

  it("gathers an isolate's answers for a second and sends them as one profile", async () => {
    const hour = Date.now() - (Date.now() % WINDOW_MS);
    const merged = () => driftStub(env, 'dense-drift', 1).merged(hour - WINDOW_MS, hour + 2 * WINDOW_MS);
    const before = (await merged()).profile?.count ?? 0;
    const { clientId, token } = await establishedClient();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => infer('dense-drift', { [CLIENT_TOKEN_HEADER]: token })),
    );
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await vi.waitFor(async () => expect((await merged()).profile?.count).toBe(before + 15), { timeout: 10_000 });
    const received = await runInDurableObject(
      driftStub(env, 'dense-drift', 1),
      (_, state) =>
        state.storage.sql
          .exec<{ n: number }>('SELECT COUNT(*) AS n FROM received WHERE client_id = ?', `edge:${clientId}`)
          .one().n,
    );
    expect(received).toBe(1);
  });

  it('adds nothing for a refused request', async () => {
    const hour = Date.now() - (Date.now() % WINDOW_MS);
    const before = await driftStub(env, 'dense-drift', 1).merged(hour - WINDOW_MS, hour + 2 * WINDOW_MS);
    const bad = await sendJson(
      'POST',
      '/v2/models/dense-drift/versions/1/infer',
      { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] },
      CLIENT_KEY,
    );
    expect(bad.status).toBe(400);
    const after = await driftStub(env, 'dense-drift', 1).merged(hour - WINDOW_MS, hour + 2 * WINDOW_MS);
    expect(after.profile?.count).toBe(before.profile?.count);
  });
});

describe('OIP v2 infer feeds drift from every input', () => {
  it('computes each feature from the input its source names, as the device does', async () => {
    const man: Manifest = {
      ...graphManifest('graph-drift'),
      features: {
        features: [
          { name: 'x_mean', kind: 'numeric', source: { stat: 'mean' } },
          { name: 'id', kind: 'numeric', source: { index: 0, input: 'ids' } },
        ],
      },
    };
    const res = await publish('graph-drift', graphModelFiles(), man);
    expect(res.status, await res.clone().text()).toBe(201);
    const aliased = await sendJson('PUT', '/v1/models/graph-drift/aliases/production', { version: 1 }, ADMIN_KEY);
    expect(aliased.status).toBe(200);
    const hour = Date.now() - (Date.now() % WINDOW_MS);
    const stub = driftStub(env, 'graph-drift', 1);
    const { token } = await establishedClient();
    const body = {
      inputs: [
        { name: 'x', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 6, 0, 0, 0, 4] },
        { name: 'ids', shape: [2], datatype: 'INT32', data: [2, 0] },
      ],
    };
    const answer = await api('/v2/models/graph-drift/versions/1/infer', {
      method: 'POST',
      key: CLIENT_KEY,
      headers: { 'Content-Type': 'application/json', [CLIENT_TOKEN_HEADER]: token },
      body: JSON.stringify(body),
    });
    expect(answer.status, await answer.clone().text()).toBe(200);
    const merged = () => stub.merged(hour - WINDOW_MS, hour + 2 * WINDOW_MS);
    await vi.waitFor(async () => expect((await merged()).profile?.count).toBe(2), { timeout: 10_000 });
    const { profile } = await merged();
    expect(profile?.features.id).toMatchObject({ kind: 'numeric', count: 2, missing: 0, min: 0, max: 2 });
    expect(profile?.features.x_mean).toMatchObject({ kind: 'numeric', count: 2, missing: 0, min: 1, max: 3 });
  });
});
