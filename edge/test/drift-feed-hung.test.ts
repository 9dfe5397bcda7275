import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import type { Tensor } from '../../protocol/oip-tensor.ts';
import { WINDOW_MS } from '../../protocol/profile/index.ts';
import type { VersionInfo } from '../../protocol/registry.ts';
import { driftStub } from '../src/drift/stub.ts';
import { feedDrift, MAX_PENDING_ROWS } from '../src/infer/drift-feed.ts';
import { getVersion } from '../src/storage/registry.ts';
import { DENSE_WEIGHTS, denseFiles, denseManifest } from './dense-model.ts';
import { establishedClient, hourAgo } from './drift-helpers.ts';
import { ADMIN_KEY, api, CLIENT_KEY, publish, sendJson } from './helpers.ts';

// Issue 14, "Promise will never complete" under infer floods: the isolate's drift batch handed
// the first request's timer-and-send promise to every later request's waitUntil, so requests
// waited on another request's I/O. Now the request that opens a batch owns its timer and send;
// later requests append their rows and are done.

const MODEL = 'feed-hung';
let info: VersionInfo;

const manifest: Manifest = {
  ...denseManifest(MODEL),
  features: { features: [{ name: 'first', kind: 'numeric', source: { index: 0 } }] },
};

/** A batch of `n` examples [i, 0, 0] and the model's two outputs for each. */
function batch(n: number): { inputs: Tensor[]; outputs: Tensor[] } {
  const x = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) x[i * 3] = i;
  return {
    inputs: [{ shape: [n, 3], data: x }],
    outputs: [{ shape: [n, 2], data: new Float32Array(n * 2).fill(0.5) }],
  };
}

/** Whether `promise` has settled by the time a zero timer fires (a batch's owner waits DRIFT_FLUSH_MS). */
const settledNow = (promise: Promise<void>) =>
  Promise.race([
    promise.then(() => 'settled'),
    new Promise<string>((resolve) => setTimeout(() => resolve('pending'), 0)),
  ]);

const received = (contributor: string) =>
  runInDurableObject(driftStub(env, MODEL, 1), (_, state) =>
    state.storage.sql
      .exec<{ rows: number }>('SELECT rows FROM received WHERE client_id = ? ORDER BY rows DESC', contributor)
      .toArray()
      .map((r) => r.rows),
  );

const judged = (window: number) => driftStub(env, MODEL, 1).merged(window, window + WINDOW_MS);

beforeAll(async () => {
  const res = await publish(MODEL, await denseFiles(DENSE_WEIGHTS), manifest);
  expect(res.status, await res.clone().text()).toBe(201);
  // Client keys may run the versions an alias serves.
  expect((await sendJson('PUT', `/v1/models/${MODEL}/aliases/production`, { version: 1 }, ADMIN_KEY)).status).toBe(200);
  const found = await getVersion(env.DB, MODEL, 1);
  if (!found) throw new Error('not published');
  info = found;
});

describe('edge inference drift batches', () => {
  it("gives each request its own promise: the opener's sends the batch, the others' are settled at once", async () => {
    const { clientId } = await establishedClient();
    const contributor = `edge:${clientId}`;
    const window = hourAgo(2);
    const feed = (n: number) => {
      const { inputs, outputs } = batch(n);
      return feedDrift(env, info, inputs, outputs, contributor, window + 1000);
    };
    const promises = [feed(3), feed(4), feed(5)];
    expect(new Set(promises).size).toBe(3);
    expect(await Promise.all(promises.map(settledNow))).toEqual(['pending', 'settled', 'settled']);
    await promises[0];
    // The opener's promise settles once the aggregator has every row, sent once.
    expect(await received(contributor)).toEqual([12]);
    expect((await judged(window)).profile?.count).toBe(12);
  });

  it('loses no row when a batch fills: its opener still sends it, the next rows open another', async () => {
    const { clientId } = await establishedClient();
    const contributor = `edge:${clientId}`;
    const window = hourAgo(3);
    const feed = (n: number) => {
      const { inputs, outputs } = batch(n);
      return feedDrift(env, info, inputs, outputs, contributor, window + 5000);
    };
    const half = MAX_PENDING_ROWS / 2;
    const promises = [feed(half), feed(half), feed(7), feed(2)];
    expect(await Promise.all(promises.map(settledNow))).toEqual(['pending', 'settled', 'pending', 'settled']);
    await Promise.all(promises);
    expect(await received(contributor)).toEqual([MAX_PENDING_ROWS, 9]);
    expect((await judged(window)).profile?.count).toBe(MAX_PENDING_ROWS + 9);
  });

  it('merges concurrent /v2 answers exactly once', async () => {
    const { clientId, token } = await establishedClient();
    const hour = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api(`/v2/models/${MODEL}/versions/1/infer`, {
          method: 'POST',
          key: CLIENT_KEY,
          headers: { 'Content-Type': 'application/json', [CLIENT_TOKEN_HEADER]: token },
          body: JSON.stringify({ inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [i, 0, 0, i, 1, 1] }] }),
        }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    const total = async () => (await received(`edge:${clientId}`)).reduce((s, n) => s + n, 0);
    await vi.waitFor(async () => expect(await total()).toBe(16), { timeout: 10_000 });
    const merged = await driftStub(env, MODEL, 1).merged(hour, hour + 2 * WINDOW_MS);
    expect(merged.profile?.features.first).toMatchObject({ count: 16, min: 0, max: 7 });
  });
});
