import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClientIdentity } from '../../protocol/clients.ts';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { MAX_EVENTS_PER_BATCH } from '../../protocol/events.ts';
import { MAX_PROFILES_PER_BATCH } from '../../protocol/profile/upload.ts';
import { envelope, hourAgo, inDistribution, mergedOf, publishDrift } from './drift-helpers.ts';
import { ADMIN_KEY, api, CLIENT_KEY, registerClient, sendEvents } from './helpers.ts';
import {
  badName,
  brokenJson,
  encode,
  gzipBomb,
  type Hostile,
  notFinite,
  notNaturalInt,
  notPositiveInt,
  notString,
  refused,
  tooLong,
} from './hostile-arbitraries.ts';
import { refuseAll, send } from './hostile-runner.ts';

// Hostile input to the client writes (events, profiles, registration): every request is
// refused with a 4xx and the contract's error body, and D1 (and the drift Durable Object) stay
// exactly as they were. Each endpoint uses its own CF-Connecting-IP so the rate limiter
// (3000/min per address) never answers in place of the route.

const EVENTS_LIMIT = 5 * 1024 * 1024;
// Each property sends a few hundred requests: far beyond the 5 s default.
const LONG = 120_000;
const PROFILES_LIMIT = 2 * 1024 * 1024;
const SMALL_LIMIT = 64 * 1024;
const DRIFT_MODEL = 'hostile-drift';

let a: ClientIdentity; // writes nothing: every request for it is refused
let b: ClientIdentity; // another client, whose token is sent for a's id
let revoked: ClientIdentity;
let replayed: ClientIdentity; // has events seq 1..5 applied and seq 6 rejected
const applied: Record<string, unknown>[] = [];
let driftVersion = 0;

const uuid = () => crypto.randomUUID();
const prediction = (seq: number, id = uuid()) => ({
  id,
  seq,
  type: 'prediction',
  ts: 1_700_000_000_000 + seq,
  model: 'hostile',
  version: 1,
  predictionId: id,
  outputs: [0.25, 0.75],
});
const headersOf = (ip: string, token?: string): Record<string, string> => ({
  'CF-Connecting-IP': ip,
  ...(token ? { [CLIENT_TOKEN_HEADER]: token } : {}),
});

beforeAll(async () => {
  // Store the bootstrap keys (done on first use) before any snapshot.
  expect((await api('/v1/keys', { key: ADMIN_KEY })).status).toBe(200);
  [a, b, revoked, replayed] = [
    await registerClient(),
    await registerClient(),
    await registerClient(),
    await registerClient(),
  ];
  const res = await api(`/v1/clients/${revoked.clientId}/revoke`, { method: 'POST', key: ADMIN_KEY });
  expect(res.status).toBe(200);
  for (let seq = 1; seq <= 5; seq++) applied.push(prediction(seq));
  const sent = await sendEvents(replayed, [...applied, { seq: 6, type: 'prediction', junk: true }]);
  expect(await sent.json()).toMatchObject({ accepted: 5, duplicates: 0, rejected: [{ index: 5 }] });
  driftVersion = await publishDrift(DRIFT_MODEL);
});

/** Batch-level breakers for a client write (`items` names the array: events or profiles). */
function clientBreakers(items: string, max: number, item: () => unknown) {
  return {
    v: fc.oneof(
      fc.constantFrom<unknown>(0, 2, '1', null, true, 1.0000001),
      notPositiveInt.filter((x) => x !== 1),
    ),
    clientId: fc.oneof(badName, notString, tooLong(64), fc.constant('short')),
    [items]: fc.oneof(
      notString.filter((x) => !Array.isArray(x) || x.length === 0),
      fc.constant([]),
      fc.constant(Array.from({ length: max + 1 }, item)),
    ),
  };
}

describe('POST /v1/events', () => {
  const ip = '198.51.100.1';
  const batch = (seq = 1) => ({ v: 1, clientId: a.clientId, batchId: `b-${uuid()}`, events: [prediction(seq)] });
  const as = (token: string | undefined, body: unknown, label: string, exp?: Hostile['expect']): Hostile => ({
    label,
    method: 'POST',
    path: '/v1/events',
    key: CLIENT_KEY,
    headers: { 'Content-Type': 'application/json', ...headersOf(ip, token) },
    body: encode(body),
    expect: exp,
  });
  const badSeq = fc.oneof(notPositiveInt, fc.constant(undefined), fc.constant(2 ** 53));
  const invalidBatch = refused(400, ErrorCode.INVALID_BODY);

  it(
    'refuses malformed, mistyped, oversized, misaddressed and altered batches, writing nothing',
    async () => {
      const tokenA = a.token;
      const arb = fc.oneof(
        { weight: 6, arbitrary: brokenJsonFor() },
        // Every event needs a readable seq, and seqs and ids are unique within a batch.
        badSeq.map((seq) => as(tokenA, { ...batch(), events: [{ ...prediction(1), seq }] }, 'bad seq', invalidBatch)),
        fc
          .integer({ min: 1, max: 5 })
          .map((n) =>
            as(
              tokenA,
              { ...batch(), events: [prediction(1), ...Array(n).fill(prediction(1))] },
              'repeated seq',
              invalidBatch,
            ),
          ),
        fc.constant(null).map(() => {
          const id = uuid();
          return as(
            tokenA,
            { ...batch(), events: [prediction(1, id), prediction(2, id)] },
            'repeated id',
            invalidBatch,
          );
        }),
        fc
          .oneof(tooLong(128), fc.constant(''), notString)
          .map((batchId) => as(tokenA, { ...batch(), batchId }, 'bad batchId', invalidBatch)),
        // Tokens: none, forged, another client's, a revoked client's own.
        fc
          .oneof(
            fc.constant(undefined),
            fc.string({ minLength: 1, maxLength: 40 }).map((s) => `x${s.replace(/\W/g, '')}`),
          )
          .map((token) => as(token, batch(), 'missing or forged token', refused(401, ErrorCode.INVALID_CLIENT_TOKEN))),
        fc
          .constant(null)
          .map(() => as(b.token, batch(), "another client's token", refused(401, ErrorCode.INVALID_CLIENT_TOKEN))),
        fc
          .constant(null)
          .map(() =>
            as(
              revoked.token,
              { ...batch(), clientId: revoked.clientId },
              'revoked client',
              refused(403, ErrorCode.CLIENT_REVOKED),
            ),
          ),
        // a has applied nothing: any batch starting above seq 1 leaves a gap.
        fc
          .integer({ min: 2, max: 2 ** 40 })
          .map((seq) => as(tokenA, batch(seq), 'seq gap', refused(409, ErrorCode.SEQ_GAP))),
        { weight: 3, arbitrary: alteredReplay() },
      );
      const sent = await refuseAll('POST /v1/events', arb, {
        requests: 260,
        tables: ['events', 'rejected_events', 'clients'],
      });
      expect(sent).toBeGreaterThanOrEqual(260);
    },
    LONG,
  );

  it(
    'refuses a gzip bomb with 413',
    async () => {
      const bomb = await gzipBomb(
        { method: 'POST', path: '/v1/events', key: CLIENT_KEY, headers: headersOf(ip, a.token) },
        batch(),
        EVENTS_LIMIT,
      );
      await refuseAll('POST /v1/events (gzip bomb)', fc.constant(bomb), { requests: 1, tables: ['events'] });
    },
    LONG,
  );

  function brokenJsonFor() {
    return brokenJson({
      method: 'POST',
      path: '/v1/events',
      key: CLIENT_KEY,
      headers: headersOf(ip, a.token),
      valid: batch(),
      required: ['v', 'clientId', 'batchId', 'events'],
      breakers: clientBreakers('events', MAX_EVENTS_PER_BATCH, () => ({ seq: 1 })),
      limit: EVENTS_LIMIT,
      readsJson: true,
    });
  }

  /** A batch of `replayed` that repeats an applied seq or id with different content (plus new events). */
  function alteredReplay(): fc.Arbitrary<Hostile> {
    const conflict = refused(409, ErrorCode.CONFLICT);
    const alteration = fc.oneof(
      fc.record({ outputs: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 4 }) }),
      fc.record({ ts: fc.nat() }),
      fc.record({ version: fc.integer({ min: 2, max: 1000 }) }),
      fc.record({ latencyMs: fc.double({ min: 0, max: 1e6, noNaN: true }) }),
      fc.record({ backend: fc.constantFrom('cpu', 'wasm', 'webgpu') }),
    );
    return fc
      .tuple(fc.integer({ min: 0, max: 4 }), fc.nat(3), alteration, fc.boolean())
      .map(([i, kind, change, withNew]) => {
        const original = applied[i] as ReturnType<typeof prediction>;
        const fresh = withNew ? [prediction(7)] : [];
        let events: unknown[];
        if (kind === 0) events = [{ ...original, ...change }, ...fresh];
        else if (kind === 1) {
          // Same seq, a new id.
          const id = uuid();
          events = [{ ...original, id, predictionId: id }, ...fresh];
        } else if (kind === 2) events = [{ ...original, seq: 7 }];
        // The rejected seq 6 replayed as a valid event.
        else events = [prediction(6), ...fresh.map((e) => ({ ...e, seq: 7 }))];
        return {
          label: `altered replay ${kind}`,
          method: 'POST',
          path: '/v1/events',
          key: CLIENT_KEY,
          headers: { 'Content-Type': 'application/json', ...headersOf(`${ip}0`, replayed.token) },
          body: encode({ v: 1, clientId: replayed.clientId, batchId: `r-${uuid()}`, events }),
          expect: conflict,
        };
      });
  }
});

describe('POST /v1/profiles', () => {
  const ip = '198.51.100.2';
  const batch = () => ({
    v: 1,
    clientId: a.clientId,
    profiles: [envelope(DRIFT_MODEL, driftVersion, hourAgo(1), inDistribution(20, 3))],
  });

  it(
    'refuses malformed, mistyped, oversized and misaddressed batches, changing nothing',
    async () => {
      const valid = batch();
      const as = (token: string | undefined, body: unknown, label: string, exp: Hostile['expect']): Hostile => ({
        label,
        method: 'POST',
        path: '/v1/profiles',
        key: CLIENT_KEY,
        headers: { 'Content-Type': 'application/json', ...headersOf(ip, token) },
        body: encode(body),
        expect: exp,
      });
      const arb = fc.oneof(
        {
          weight: 8,
          arbitrary: brokenJson({
            method: 'POST',
            path: '/v1/profiles',
            key: CLIENT_KEY,
            headers: headersOf(ip, a.token),
            valid,
            required: ['v', 'clientId', 'profiles'],
            breakers: clientBreakers('profiles', MAX_PROFILES_PER_BATCH, () => valid.profiles[0]),
            limit: PROFILES_LIMIT,
            readsJson: true,
          }),
        },
        fc
          .oneof(fc.constant(undefined), fc.constant('el.forged.token'))
          .map((token) => as(token, valid, 'missing or forged token', refused(401, ErrorCode.INVALID_CLIENT_TOKEN))),
        fc
          .constant(null)
          .map(() => as(b.token, valid, "another client's token", refused(401, ErrorCode.INVALID_CLIENT_TOKEN))),
        fc
          .constant(null)
          .map(() =>
            as(
              revoked.token,
              { ...valid, clientId: revoked.clientId },
              'revoked client',
              refused(403, ErrorCode.CLIENT_REVOKED),
            ),
          ),
      );
      const far = Date.now() + 10 * 3_600_000;
      await refuseAll('POST /v1/profiles', arb, {
        requests: 220,
        tables: ['drift_stats', 'drift_alerts', 'clients'],
        extra: () => mergedOf(DRIFT_MODEL, driftVersion, 0, far),
      });
    },
    LONG,
  );
});

describe('POST /v1/clients', () => {
  const ip = '198.51.100.3';

  it(
    'refuses malformed and mistyped registrations, registering nobody',
    async () => {
      const arb = brokenJson({
        method: 'POST',
        path: '/v1/clients',
        key: CLIENT_KEY,
        headers: headersOf(ip),
        valid: { v: 1, nextSeq: 1 },
        required: ['v'],
        breakers: {
          v: fc.oneof(
            fc.constantFrom<unknown>(0, 2, '1', null, 1.5),
            notPositiveInt.filter((x) => x !== 1),
          ),
          nextSeq: fc.oneof(notPositiveInt, fc.constant(2 ** 53), notFinite, notNaturalInt),
        },
        limit: SMALL_LIMIT,
        readsJson: true,
      });
      await refuseAll('POST /v1/clients', arb, { requests: 220, tables: ['clients'] });
    },
    LONG,
  );
});

describe('hostile requests are answered without touching storage (sanity)', () => {
  it('a refused batch leaves the replayed client where it was', async () => {
    const res = await send({
      label: 'sanity',
      method: 'POST',
      path: '/v1/events',
      key: CLIENT_KEY,
      headers: { 'Content-Type': 'application/json', ...headersOf('198.51.100.9', replayed.token) },
      body: encode({ v: 1, clientId: replayed.clientId, batchId: 'x', events: [prediction(8)] }),
    });
    expect(res.status).toBe(409);
    const info = await api(`/v1/clients/${replayed.clientId}`, { key: ADMIN_KEY });
    expect(await info.json()).toMatchObject({ maxSeq: 6 });
  });
});
