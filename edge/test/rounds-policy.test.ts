import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ClientIdentity } from '../../protocol/clients.ts';
import type { DriftReport } from '../../protocol/profile/index.ts';
import type { AliasInfo } from '../../protocol/registry.ts';
import type { PolicyInfo, RoundList } from '../../protocol/rounds.ts';
import { insertDriftAlert } from '../src/storage/drift.ts';
import { ADMIN_KEY, api, CLIENT_KEY, expectError, registerClient, sendEvents, sendJson } from './helpers.ts';
import {
  delta,
  HELPFUL,
  openRound,
  publishRoundModel,
  runRoundAlarm,
  sendUpdate,
  settledRound,
} from './round-helpers.ts';

const body = (d: Float32Array) => new Uint8Array(d.buffer.slice(0));

/** `n` predictions of `version` by one client with their labels; `right` of them are right. */
async function labelled(name: string, version: number, n: number, right: number): Promise<ClientIdentity> {
  const identity = await registerClient();
  const events = [];
  for (let i = 0; i < n; i++) {
    const predictionId = crypto.randomUUID();
    const base = { model: name, version, predictionId, ts: Date.now() };
    events.push({ id: predictionId, seq: 2 * i + 1, type: 'prediction', outputs: [0.9, 0.1], ...base });
    events.push({ id: crypto.randomUUID(), seq: 2 * i + 2, type: 'feedback', label: i < right ? 0 : 1, ...base });
  }
  const res = await sendEvents(identity, events);
  expect(res.status, await res.clone().text()).toBe(200);
  return identity;
}

const alias = async (name: string) =>
  (await (await api(`/v1/models/${name}/aliases/production`, { key: ADMIN_KEY })).json()) as AliasInfo;

/** A policy on production, and a round whose blessed candidate it puts in canary. */
async function canaryOf(name: string): Promise<{ base: number; candidate: number }> {
  const base = await publishRoundModel(name);
  const put = await sendJson(
    'PUT',
    `/v1/models/${name}/aliases/production/policy`,
    { v: 1, canary: { percent: 50 }, promotion: { minLabelled: 20 } },
    ADMIN_KEY,
  );
  expect(put.status, await put.clone().text()).toBe(200);
  const round = await openRound(name, { maxClients: 3 });
  for (let i = 0; i < 3; i++) await sendUpdate(name, round.id, await registerClient(), body(delta({ [HELPFUL]: 1 })));
  const done = await settledRound(name, round.id);
  expect(done.reason).toBe('blessed; canary 50% on production');
  const candidate = done.candidateVersion as number;
  const info = await alias(name);
  expect(info.rollout.canary).toEqual({ version: candidate, percent: 50 });
  expect(info.history[0]).toMatchObject({ kind: 'rollout', keyId: 'policy:production' });
  expect(info.history[0]?.reason).toMatch(new RegExp(`round ${round.id} candidate v${candidate} blessed`));
  const policy = (await (
    await api(`/v1/models/${name}/aliases/production/policy`, { key: ADMIN_KEY })
  ).json()) as PolicyInfo;
  expect(policy.watching).toMatchObject({ version: candidate, roundId: round.id });
  return { base, candidate };
}

describe('alias policy: automatic canary, promotion and rollback', () => {
  it('stores a policy with its defaults and refuses bad ones', async () => {
    await publishRoundModel('rp-store');
    const res = await sendJson(
      'PUT',
      '/v1/models/rp-store/aliases/production/policy',
      { v: 1, trigger: { everyLabels: 100 } },
      ADMIN_KEY,
    );
    const info = (await res.json()) as PolicyInfo;
    expect(info.policy).toMatchObject({
      enabled: true,
      trigger: { everyLabels: 100 },
      canary: { percent: 10 },
      gate: { maxDrop: 0.01 },
      promotion: { minLabelled: 50, alpha: 0.05 },
    });
    expect(
      (await (await api('/v1/models/rp-store/aliases/production/policy', { key: ADMIN_KEY })).json()) as PolicyInfo,
    ).toEqual(info);
    const put = (b: unknown, key = ADMIN_KEY, a = 'production') =>
      sendJson('PUT', `/v1/models/rp-store/aliases/${a}/policy`, b, key);
    await expectError(await put({ v: 1 }, CLIENT_KEY), 403, 'FORBIDDEN');
    await expectError(await put({ v: 1, canary: { percent: 0 } }), 400, 'INVALID_BODY');
    await expectError(await put({ v: 1, trigger: { sometimes: true } }), 400, 'INVALID_BODY');
    await expectError(await put({ v: 1, round: { minClients: 9, maxClients: 2 } }), 400, 'INVALID_BODY');
    await expectError(await put({ v: 1 }, ADMIN_KEY, 'staging'), 404, 'ALIAS_NOT_FOUND');
  });

  it('promotes a canary that is not worse on the fleet labels, with the numbers in the history', async () => {
    const { candidate } = await canaryOf('rp-promote');
    const stableVersion = (await alias('rp-promote')).version;
    await labelled('rp-promote', candidate, 25, 24);
    await labelled('rp-promote', stableVersion, 25, 18);
    await runRoundAlarm('rp-promote');
    const info = await alias('rp-promote');
    expect(info.version).toBe(candidate);
    expect(info.rollout).toEqual({});
    const move = info.history.find((e) => e.kind === 'move' && e.to === candidate);
    expect(move?.reason).toMatch(/^policy promotion: canary v\d+ 96\.0% of 25 labelled vs stable v\d+ 72\.0% of 25/);
  });

  it('rolls back a canary that is worse, and waits while labels are too few', async () => {
    const { base, candidate } = await canaryOf('rp-rollback');
    await labelled('rp-rollback', candidate, 10, 2);
    await runRoundAlarm('rp-rollback');
    expect((await alias('rp-rollback')).rollout.canary?.version).toBe(candidate);
    await labelled('rp-rollback', candidate, 25, 10);
    await labelled('rp-rollback', base, 25, 24);
    await runRoundAlarm('rp-rollback');
    const info = await alias('rp-rollback');
    expect(info).toMatchObject({ version: base, rollout: {} });
    expect(info.history[0]?.reason).toMatch(
      /^policy rollback: canary v\d+ 34\.3% of 35 labelled vs stable v\d+ 96\.0% of 25; one-sided p\(worse\) = 0\.0000/,
    );
  });

  it('leaves a canary moved by hand alone', async () => {
    const { candidate } = await canaryOf('rp-hand');
    const cleared = await sendJson('PUT', '/v1/models/rp-hand/aliases/production/rollout', {}, ADMIN_KEY);
    expect(cleared.status).toBe(200);
    await labelled('rp-hand', candidate, 25, 25);
    await runRoundAlarm('rp-hand');
    expect((await alias('rp-hand')).version).not.toBe(candidate);
    const policy = (await (
      await api('/v1/models/rp-hand/aliases/production/policy', { key: ADMIN_KEY })
    ).json()) as PolicyInfo;
    expect(policy.watching).toBeNull();
  });

  it('opens a round once enough new labels arrive', async () => {
    const base = await publishRoundModel('rp-trigger');
    await labelled('rp-trigger', base, 4, 4);
    const put = await sendJson(
      'PUT',
      '/v1/models/rp-trigger/aliases/production/policy',
      { v: 1, trigger: { everyLabels: 5 }, round: { minClients: 2 }, roundSeconds: 120 },
      ADMIN_KEY,
    );
    expect(((await put.json()) as PolicyInfo).labelsAtLastRound).toBe(4);
    const rounds = async () =>
      ((await (await api('/v1/models/rp-trigger/rounds', { key: ADMIN_KEY })).json()) as RoundList).rounds;
    await runRoundAlarm('rp-trigger');
    expect(await rounds()).toHaveLength(0);
    await labelled('rp-trigger', base, 5, 5);
    await runRoundAlarm('rp-trigger');
    const [opened] = await rounds();
    expect(opened).toMatchObject({ status: 'open', baseVersion: base, settings: { minClients: 2 } });
    expect((opened?.settings.deadline ?? 0) - (opened?.openedAt ?? 0)).toBeGreaterThan(115_000);
  });
});

describe('alias policy: schedule and drift triggers', () => {
  const rounds = async (name: string) =>
    ((await (await api(`/v1/models/${name}/rounds`, { key: ADMIN_KEY })).json()) as RoundList).rounds;
  const policy = (name: string, trigger: Record<string, unknown>) =>
    sendJson(
      'PUT',
      `/v1/models/${name}/aliases/production/policy`,
      { v: 1, trigger, round: { minClients: 1 } },
      ADMIN_KEY,
    );

  it('opens a round on its schedule, and the next one only when the period has passed again', async () => {
    await publishRoundModel('rp-hours');
    expect((await policy('rp-hours', { everyHours: 1 })).status).toBe(200);
    await runRoundAlarm('rp-hours');
    const [first] = await rounds('rp-hours');
    expect(first?.status).toBe('open');
    await sendJson('POST', `/v1/models/rp-hours/rounds/${first?.id}/cancel`, {}, ADMIN_KEY);
    await runRoundAlarm('rp-hours');
    expect(await rounds('rp-hours')).toHaveLength(1);
  });

  it('opens a round when the served version drifts after the last round, once per alert', async () => {
    const version = await publishRoundModel('rp-drift');
    expect((await policy('rp-drift', { onDrift: true })).status).toBe(200);
    await runRoundAlarm('rp-drift');
    expect(await rounds('rp-drift')).toHaveLength(0);
    const report = { dataset: { driftedShare: 1, drifted: true } } as unknown as DriftReport;
    await insertDriftAlert(env.DB, { model: 'rp-drift', version, window: 0, drifted: ['x'], report, now: Date.now() });
    await runRoundAlarm('rp-drift');
    const [opened] = await rounds('rp-drift');
    expect(opened).toMatchObject({ status: 'open', baseVersion: version });
    await sendJson('POST', `/v1/models/rp-drift/rounds/${opened?.id}/cancel`, {}, ADMIN_KEY);
    await runRoundAlarm('rp-drift');
    expect(await rounds('rp-drift')).toHaveLength(1);
  });
});
