import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import * as v from 'valibot';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CLIENT_TOKEN_HEADER, type ClientIdentity } from '../../protocol/clients.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { buildProfile, DriftReport, extractFeatures, type Profile, WINDOW_MS } from '../../protocol/profile/index.ts';
import { seededRandom } from '../../protocol/random.ts';
import { ModelList } from '../../protocol/registry.ts';
import { driftStub } from '../src/drift/stub.ts';
import { DENSE_WEIGHTS, denseFiles, denseManifest } from './dense-model.ts';
import { envelope, establish } from './drift-helpers.ts';
import { ADMIN_KEY, api, bytes, CLIENT_KEY, count, publish, sendAsClient, sendJson } from './helpers.ts';

// Issue 14, red team: an actor holding only the public client key (served in /config.json)
// mints identities with POST /v1/clients, each from its own address, sends out-of-distribution
// profiles up to the per-client cap from each, and floods /v2 infer with out-of-distribution
// inputs under a new Edgeloop-Client-Id per request. None of it may flag production.

const MODEL = 'poison';
const H = WINDOW_MS;
const CAP = 2000;

const manifest: Manifest = {
  ...denseManifest(MODEL),
  features: {
    features: [
      { name: 'first', kind: 'numeric', source: { index: 0 }, drift: { method: 'wasserstein', threshold: 0.1 } },
      { name: 'mean', kind: 'numeric', source: { stat: 'mean' }, drift: { method: 'wasserstein', threshold: 0.1 } },
    ],
  },
  files: [...denseManifest(MODEL).files, { path: 'reference.json', role: 'reference' }],
  reference: { path: 'reference.json' },
};

/** `n` deterministic inputs [x0, x1, x2], each ~ N(mean, 1). */
function inputs(n: number, seed: number, mean: number): number[][] {
  const random = seededRandom(seed);
  // Never 0, so its log is finite.
  const uniform = () => (random() * 4_294_967_295 + 0.5) / 4_294_967_296;
  const normal = () => mean + Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return Array.from({ length: n }, () => [normal(), normal(), normal()]);
}

const profileOf = (xs: number[][]): Profile =>
  buildProfile(
    xs.map((x) => extractFeatures(manifest, Float32Array.from(x))),
    manifest.features,
  );

const OUT_OF_DISTRIBUTION = profileOf(inputs(CAP, 99, 6));

/** Registers a client as anyone can: the public client key, from address `ip`. */
async function register(ip: string): Promise<ClientIdentity> {
  const res = await api('/v1/clients', {
    method: 'POST',
    key: CLIENT_KEY,
    headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': ip },
    body: JSON.stringify({ v: 1 }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as ClientIdentity;
}

async function postProfiles(client: ClientIdentity, profiles: unknown[], ip: string) {
  const res = await sendAsClient(
    'POST',
    '/v1/profiles',
    { v: 1, clientId: client.clientId, profiles },
    client.token,
    CLIENT_KEY,
    {
      'CF-Connecting-IP': ip,
    },
  );
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { accepted: number; capped: number; rejected: unknown[] };
}

function infer(rows: number[][], headers: Record<string, string>): Promise<Response> {
  return api(`/v2/models/${MODEL}/infer`, {
    method: 'POST',
    key: CLIENT_KEY,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [rows.length, 3], datatype: 'FP32', data: rows.flat() }] }),
  });
}

async function report(from: number, hours = 1): Promise<DriftReport> {
  const to = from + hours * H;
  const res = await api(`/v1/models/${MODEL}/versions/1/drift?from=${from}&to=${to}`, { key: ADMIN_KEY });
  expect(res.status, await res.clone().text()).toBe(200);
  return v.parse(DriftReport, await res.json());
}

async function attention() {
  const res = await api('/v1/models', { key: ADMIN_KEY });
  return v.parse(ModelList, await res.json()).models.find((m) => m.name === MODEL)?.attention;
}

/** Rows the aggregator received (merged or capped) from edge inference. */
const edgeRowsReceived = () =>
  runInDurableObject(
    driftStub(env, MODEL, 1),
    (_, state) =>
      state.storage.sql
        .exec<{ n: number | null }>("SELECT SUM(rows) AS n FROM received WHERE client_id LIKE 'edge:%'")
        .one().n ?? 0,
  );

beforeAll(async () => {
  const reference = bytes(JSON.stringify(profileOf(inputs(2000, 7, 0))));
  const res = await publish(MODEL, { ...(await denseFiles(DENSE_WEIGHTS)), 'reference.json': reference }, manifest);
  expect(res.status, await res.clone().text()).toBe(201);
  expect((await sendJson('PUT', `/v1/models/${MODEL}/aliases/production`, { version: 1 }, ADMIN_KEY)).status).toBe(200);
});

describe('drift poisoning with the public client key', () => {
  it('fresh identities and unproven edge inference cannot flag a window; established clients still do', async () => {
    const hour = Math.floor(Date.now() / H) * H;
    const fresh: ClientIdentity[] = [];
    for (let i = 0; i < 50; i++) {
      const ip = `198.51.100.${i + 1}`;
      const client = await register(ip);
      fresh.push(client);
      const out = await postProfiles(
        client,
        [envelope(MODEL, 1, hour, OUT_OF_DISTRIBUTION), envelope(MODEL, 1, hour, OUT_OF_DISTRIBUTION)],
        ip,
      );
      // Each identity fills its cap: one profile merged, the next capped.
      expect(out).toMatchObject({ accepted: 1, capped: 1, rejected: [] });
    }

    // 3,000 out-of-distribution rows through /v2, a new Edgeloop-Client-Id per request, some with
    // a forged token; and 1,000 more under the valid tokens of the fresh identities.
    const answers = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) =>
        infer(inputs(100, 1000 + i, 6), {
          'Edgeloop-Client-Id': `rotating-${i}-${crypto.randomUUID()}`,
          ...(i % 2 ? { [CLIENT_TOKEN_HEADER]: `c_forged${i}abcdefgh.bm90IGEgbWFj` } : {}),
        }),
      ),
      ...fresh
        .slice(0, 10)
        .map((client, i) => infer(inputs(100, 2000 + i, 6), { [CLIENT_TOKEN_HEADER]: client.token })),
    ]);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    await vi.waitFor(async () => expect(await edgeRowsReceived()).toBe(4000), { timeout: 20_000 });

    // This hour and the next, in case the inference was answered after the hour turned.
    const poisoned = await report(hour, 2);
    expect(poisoned.features.filter((f) => f.drifted)).toEqual([]);
    expect(poisoned.dataset.drifted).toBe(false);
    expect(poisoned.current.count).toBe(0);
    expect(poisoned.basis).toMatchObject({ judged: 'too-small', rows: 0, probationHours: 24 });
    // Held back and said so: 50 devices' 2,000 rows and 10 of them through /v2 on probation;
    // every unproven /v2 caller is the one shared contributor, under the one cap.
    expect(poisoned.basis?.heldBack.probation).toEqual({ rows: 50 * CAP + 1000, contributors: 60 });
    expect(poisoned.basis?.heldBack.unverified.contributors).toBe(1);
    expect(poisoned.basis?.heldBack.unverified.rows).toBeGreaterThan(0);
    expect(poisoned.basis?.heldBack.unverified.rows).toBeLessThanOrEqual(CAP);
    const stub = driftStub(env, MODEL, 1);
    expect(await stub.alerts()).toEqual([]);
    expect(await count('drift_alerts', 'model = ?', MODEL)).toBe(0);
    // No alert, so no webhook delivery is scheduled.
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    expect(await attention()).toEqual({});

    // The detector still works: clients known for longer than the probation flag the window.
    for (let i = 0; i < 3; i++) {
      const ip = `203.0.113.${i + 1}`;
      const client = await register(ip);
      await establish(client.clientId);
      const out = await postProfiles(client, [envelope(MODEL, 1, hour, profileOf(inputs(400, 3000 + i, 6)))], ip);
      expect(out).toMatchObject({ accepted: 1, rejected: [] });
    }
    const flagged = await report(hour);
    expect(flagged.features.filter((f) => f.drifted).map((f) => f.name)).toEqual(['first', 'mean']);
    expect(flagged.dataset.drifted).toBe(true);
    expect(flagged.current.count).toBe(1200);
    expect(flagged.basis).toMatchObject({ judged: 'alone', rows: 1200 });
    expect((await stub.alerts()).map((a) => a.window)).toEqual([hour]);
    expect((await attention())?.production?.drifted).toEqual(['first', 'mean']);
  }, 120_000);
});
