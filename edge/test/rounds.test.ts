import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Round, RoundList } from '../../protocol/rounds.ts';
import type { RoundCoordinator } from '../src/rounds/coordinator.ts';
import { ADMIN_KEY, api, CLIENT_KEY, expectError, modelFiles, publish, registerClient, sendJson } from './helpers.ts';
import {
  askCurrent,
  delta,
  HELPFUL,
  openRound,
  publishRoundModel,
  readRound,
  sendUpdate,
  settledRound,
  VALUES,
} from './round-helpers.ts';

const body = (d: Float32Array) => new Uint8Array(d.buffer.slice(0));

/** `clients` devices each sending `update` and `askers` more that only ask for the round (all ask first). */
async function contribute(name: string, round: Round, update: Float32Array, clients = 3, askers = 0) {
  const identities = [];
  for (let i = 0; i < clients + askers; i++) {
    const identity = await registerClient();
    expect((await askCurrent(name, identity)).status).toBe(200);
    identities.push(identity);
  }
  for (const identity of identities.slice(0, clients)) {
    expect((await sendUpdate(name, round.id, identity, body(update))).status).toBe(200);
  }
}

describe('rounds: open, read, cancel', () => {
  it('opens a round on what the alias serves, with defaults filled in, and refuses a second one', async () => {
    const v = await publishRoundModel('rd-open');
    const round = await openRound('rd-open', { minClients: 2 });
    expect(round).toMatchObject({
      v: 1,
      model: 'rd-open',
      alias: 'production',
      baseVersion: v,
      status: 'open',
      contributors: 0,
    });
    expect(round.settings).toMatchObject({
      minClients: 2,
      maxClients: 100,
      aggregator: 'fedavg',
      clipNorm: 1,
      noiseMultiplier: 0,
      delta: 1e-5,
    });
    expect(round.id).toMatch(/^r_[0-9a-f]{16}$/);
    await expectError(await sendJson('POST', '/v1/models/rd-open/rounds', { v: 1 }, ADMIN_KEY), 409, 'ROUND_OPEN');
    const list = (await (await api('/v1/models/rd-open/rounds', { key: ADMIN_KEY })).json()) as RoundList;
    expect(list.rounds.map((r) => r.id)).toEqual([round.id]);
    expect(list.privacy).toEqual({ epsilon: 0, delta: 0, rounds: 0 });
    expect(await readRound('rd-open', round.id)).toEqual(round);
  });

  it('tells a device the open round and counts it as eligible', async () => {
    await publishRoundModel('rd-current');
    const none = await api('/v1/models/rd-current/rounds/current', { key: CLIENT_KEY });
    expect(await none.json()).toEqual({ v: 1, round: null, evaluate: null });
    const round = await openRound('rd-current');
    const identity = await registerClient();
    const current = (await (await askCurrent('rd-current', identity)).json()) as { round: Record<string, unknown> };
    expect(current.round).toMatchObject({
      id: round.id,
      baseVersion: round.baseVersion,
      clipNorm: 1,
      weights: { path: 'weights.bin', values: VALUES },
    });
    await askCurrent('rd-current', identity);
    expect((await readRound('rd-current', round.id)).eligible).toBe(1);
  });

  it('cancels an open round and only an open one; nothing is released', async () => {
    await publishRoundModel('rd-cancel');
    const round = await openRound('rd-cancel');
    const identity = await registerClient();
    expect((await sendUpdate('rd-cancel', round.id, identity, body(delta({ 0: 0.1 })))).status).toBe(200);
    const res = await api(`/v1/models/rd-cancel/rounds/${round.id}/cancel`, { method: 'POST', key: ADMIN_KEY });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'cancelled', candidateVersion: null, privacy: null });
    await expectError(
      await api(`/v1/models/rd-cancel/rounds/${round.id}/cancel`, { method: 'POST', key: ADMIN_KEY }),
      409,
      'ROUND_CLOSED',
    );
    await expectError(
      await sendUpdate('rd-cancel', round.id, await registerClient(), body(delta({}))),
      409,
      'ROUND_CLOSED',
    );
    const listed = await env.ARTIFACTS.list({ prefix: `rounds/rd-cancel/${round.id}/` });
    expect(listed.objects).toHaveLength(0);
    // A new round may open once the last is over.
    expect((await openRound('rd-cancel')).status).toBe('open');
  });

  it('refuses what cannot be a round', async () => {
    await publishRoundModel('rd-refuse');
    const open = (b: unknown, key = ADMIN_KEY) => sendJson('POST', '/v1/models/rd-refuse/rounds', b, key);
    await expectError(await open({ v: 1 }, CLIENT_KEY), 403, 'FORBIDDEN');
    await expectError(await open({ v: 1, settings: { minClients: 5, maxClients: 2 } }), 400, 'INVALID_BODY');
    await expectError(await open({ v: 1, settings: { deadline: Date.now() - 1 } }), 400, 'INVALID_BODY');
    await expectError(await open({ v: 1, settings: { clipNorm: 0 } }), 400, 'INVALID_BODY');
    await expectError(await open({ v: 1, settings: { aggregator: 'mean' } }), 400, 'INVALID_BODY');
    await expectError(await open({ v: 1, baseVersion: 99 }), 404, 'VERSION_NOT_FOUND');
    await expectError(await open({ v: 1, alias: 'staging' }), 404, 'ALIAS_NOT_FOUND');
    await expectError(await sendJson('POST', '/v1/models/rd-none/rounds', { v: 1 }, ADMIN_KEY), 404, 'MODEL_NOT_FOUND');
    await expectError(
      await api('/v1/models/rd-refuse/rounds/r_0000000000000000', { key: ADMIN_KEY }),
      404,
      'ROUND_NOT_FOUND',
    );
    await expectError(await api('/v1/models/rd-refuse/rounds/nope', { key: ADMIN_KEY }), 404, 'ROUND_NOT_FOUND');
    // A version without a weights file cannot be trained.
    const res = await publish('rd-noweights', modelFiles('x', { weights: false }));
    const { version } = (await res.json()) as { version: number };
    await expectError(
      await sendJson('POST', '/v1/models/rd-noweights/rounds', { v: 1, baseVersion: version }, ADMIN_KEY),
      422,
      'UNSUPPORTED_MODEL',
    );
  });
});

describe('rounds: closing', () => {
  it('aggregates at the deadline into a gated candidate with lineage, then deletes the updates', async () => {
    const base = await publishRoundModel('rd-close');
    const round = await openRound('rd-close', { maxClients: 3 });
    await contribute('rd-close', round, delta({ [HELPFUL]: 1 }), 3, 1);
    const done = await settledRound('rd-close', round.id);
    expect(done).toMatchObject({ status: 'done', contributors: 3, eligible: 4, examples: 60, clipped: 0 });
    expect(done.privacy).toEqual({ epsilon: null, delta: 1e-5, q: 0.75, noiseMultiplier: 0, order: 0 });
    expect(done.gate?.blessed).toBe(true);
    const [holdout] = done.gate?.metrics ?? [];
    expect(holdout).toMatchObject({ set: 'holdout', examples: 300 });
    expect(holdout?.candidate).toBeGreaterThan((holdout?.baseline ?? 1) + 0.1);
    expect(done.reason).toMatch(/no policy/);
    const version = done.candidateVersion as number;
    expect(version).toBe(base + 1);
    const info = (await (await api(`/v1/models/rd-close/versions/${version}`, { key: ADMIN_KEY })).json()) as {
      manifest: { lineage: Record<string, unknown>; metrics: Record<string, number> };
      files: { path: string; sha256: string }[];
    };
    expect(info.manifest.lineage).toMatchObject({
      parentVersion: base,
      roundId: round.id,
      contributors: 3,
      examples: 60,
      delta: 1e-5,
    });
    expect(info.manifest.lineage.data).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(info.manifest.metrics.holdout_accuracy).toBe(holdout?.candidate);
    // The candidate's weights are the base's plus the average update, value by value.
    const file = await api(`/v1/models/rd-close/versions/${version}/files/weights.bin`, { key: ADMIN_KEY });
    const weights = new Float32Array(await file.arrayBuffer());
    expect(Array.from(weights)).toEqual([1, 0, 0, 1, 0, 1, 0, 0]);
    expect((await env.ARTIFACTS.list({ prefix: `rounds/rd-close/${round.id}/` })).objects).toHaveLength(0);
  });

  it('fails a round with fewer updates than minClients and releases nothing', async () => {
    await publishRoundModel('rd-few');
    const round = await openRound('rd-few', { minClients: 3, deadline: Date.now() + 300 });
    await contribute('rd-few', round, delta({ [HELPFUL]: 1 }), 2);
    await new Promise((r) => setTimeout(r, 350));
    await expectError(
      await sendUpdate('rd-few', round.id, await registerClient(), body(delta({}))),
      409,
      'ROUND_CLOSED',
    );
    const failed = await settledRound('rd-few', round.id);
    expect(failed).toMatchObject({ status: 'failed', candidateVersion: null, privacy: null });
    expect(failed.reason).toMatch(/2 of the 3 updates/);
  });

  it('rejects a harmful candidate at the gate and says why; it is never aliased', async () => {
    await publishRoundModel('rd-harm');
    const round = await openRound('rd-harm', { maxClients: 3 });
    await contribute('rd-harm', round, delta({ [HELPFUL]: -5 }), 3);
    const done = await settledRound('rd-harm', round.id);
    expect(done.clipped).toBe(3);
    expect(done.gate?.blessed).toBe(false);
    expect(done.gate?.reasons.join('\n')).toMatch(/^fail: holdout accuracy .* vs baseline/m);
    expect(done.reason).toBe('rejected by the gate');
    const alias = (await (await api('/v1/models/rd-harm/aliases/production', { key: ADMIN_KEY })).json()) as {
      version: number;
      rollout: unknown;
    };
    expect(alias).toMatchObject({ version: round.baseVersion, rollout: {} });
  });

  it('accounts the privacy of a noised round, per round and composed over the model', async () => {
    await publishRoundModel('rd-noise');
    for (let k = 0; k < 2; k++) {
      const round = await openRound('rd-noise', { maxClients: 3, noiseMultiplier: 1.1 });
      await contribute('rd-noise', round, delta({ [HELPFUL]: 1 }), 3, 3);
      const done = await settledRound('rd-noise', round.id);
      expect(done.privacy).toMatchObject({ q: 0.5, noiseMultiplier: 1.1, delta: 1e-5 });
      expect(done.privacy?.epsilon).toBeGreaterThan(0);
    }
    const list = (await (await api('/v1/models/rd-noise/rounds', { key: ADMIN_KEY })).json()) as RoundList;
    const [second, first] = list.rounds;
    expect(list.privacy.rounds).toBe(2);
    // Composed by RDP: more than one round's ε, less than the two added.
    const one = first?.privacy?.epsilon as number;
    expect(second?.privacy?.epsilon).toBeCloseTo(one, 10);
    expect(list.privacy.epsilon).toBeGreaterThan(one);
    expect(list.privacy.epsilon).toBeLessThan(2 * one);
  });
});

describe('rounds: an interrupted close', () => {
  it('closes again from the start when the alarm is retried mid-aggregation, and publishes once', async () => {
    await publishRoundModel('rd-retry');
    const round = await openRound('rd-retry', { minClients: 2, deadline: Date.now() + 300 });
    await contribute('rd-retry', round, delta({ [HELPFUL]: 1 }), 2);
    // As an alarm killed after it marked the round: status written, nothing else done.
    const stub = env.ROUNDS.get(env.ROUNDS.idFromName('rd-retry'));
    await runInDurableObject(stub, async (instance, state) => {
      state.storage.sql.exec("UPDATE rounds SET status = 'aggregating' WHERE id = ?", round.id);
      await (instance as RoundCoordinator).alarm();
    });
    const done = await settledRound('rd-retry', round.id);
    expect(done).toMatchObject({ status: 'done', contributors: 2 });
    const versions = (await (await api('/v1/models/rd-retry/versions', { key: ADMIN_KEY })).json()) as {
      versions: unknown[];
    };
    expect(versions.versions).toHaveLength(2);
  });
});
