import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { canaryBucket } from '../../protocol/rollout.ts';
import { ADMIN_KEY, api, CLIENT_KEY, expectError, makeKey, modelFiles, publish, sendJson } from './helpers.ts';

interface Info {
  version: number;
  rollout: { canary?: { version: number; percent: number }; shadow?: { version: number } };
  history: {
    at: number;
    kind: string;
    from: number | null;
    to: number;
    reason: string | null;
    keyId: string;
    rollout?: unknown;
  }[];
}

/** Publishes `n` versions of `model` and points `production` at version `at`. */
async function setup(model: string, n: number, at = 1): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const res = await publish(model, modelFiles(`v${i}`, { weight: i }));
    expect(res.status).toBe(201);
  }
  expect((await sendJson('PUT', `/v1/models/${model}/aliases/production`, { version: at }, ADMIN_KEY)).status).toBe(
    200,
  );
}

const path = (model: string, rest: string) => `/v1/models/${model}/${rest}`;
const putRollout = (model: string, body: unknown, key = ADMIN_KEY) =>
  sendJson('PUT', path(model, 'aliases/production/rollout'), body, key);
const post = (model: string, rest: string, key = ADMIN_KEY) => api(path(model, rest), { method: 'POST', key });

/** Every D1 row the registry keeps about `model`, to show a rejected request wrote nothing. */
async function snapshot(model: string): Promise<unknown[]> {
  const tables = ['aliases', 'alias_events', 'versions'];
  return Promise.all(
    tables.map(
      async (table) => (await env.DB.prepare(`SELECT * FROM ${table} WHERE model = ?`).bind(model).all()).results,
    ),
  );
}

async function resolve(model: string, client?: string): Promise<{ version: number; role: string; shadow?: number }> {
  const query = client ? `?alias=production&client=${client}` : '';
  const res = await api(path(model, `resolve${query}`), { key: CLIENT_KEY });
  expect(res.status).toBe(200);
  return res.json();
}

describe('canaryBucket', () => {
  it('puts percent ±2 points of 10,000 clients in the canary, for 10, 25 and 50', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `c_${i.toString(36).padStart(8, '0')}`);
    const buckets = await Promise.all(ids.map((id) => canaryBucket('digits', 'production', id)));
    for (const bucket of buckets) expect(bucket >= 0 && bucket < 100).toBe(true);
    for (const percent of [10, 25, 50]) {
      const share = (buckets.filter((b) => b < percent).length / ids.length) * 100;
      expect(Math.abs(share - percent)).toBeLessThanOrEqual(2);
    }
  });

  it('is sticky per (model, alias, client) and differs between aliases', async () => {
    const a = await canaryBucket('digits', 'production', 'c_stable01');
    expect(await canaryBucket('digits', 'production', 'c_stable01')).toBe(a);
    expect(await canaryBucket('digits', 'staging', 'c_stable01')).not.toBe(a);
  });
});

describe('rollout', () => {
  it('sets a canary and a shadow, shows them on the alias and records who and why', async () => {
    await setup('ro-set', 3);
    const publisher = await makeKey('publish');
    const body = { canary: { version: 2, percent: 25 }, shadow: { version: 3 }, reason: 'try v2' };
    const res = await putRollout('ro-set', body, publisher.key);
    expect(res.status).toBe(200);
    const info = (await res.json()) as Info;
    const rollout = { canary: { version: 2, percent: 25 }, shadow: { version: 3 } };
    expect(info).toMatchObject({ model: 'ro-set', alias: 'production', version: 1, rollout });
    expect(info.history.map(({ at: _at, ...rest }) => rest)).toEqual([
      { kind: 'rollout', from: 1, to: 1, reason: 'try v2', keyId: publisher.id, rollout },
      { kind: 'move', from: null, to: 1, reason: null, keyId: 'bootstrap-admin' },
    ]);
    const got = await api(path('ro-set', 'aliases/production'), { key: ADMIN_KEY });
    expect(await got.json()).toEqual(info);
    const row = await env.DB.prepare(
      "SELECT version, canary_version, canary_percent, shadow_version FROM aliases WHERE model = 'ro-set'",
    ).first();
    expect(row).toEqual({ version: 1, canary_version: 2, canary_percent: 25, shadow_version: 3 });
  });

  it('sends a client to the canary exactly when its bucket is under the percent, every time', async () => {
    await setup('ro-resolve', 3);
    expect(
      (await putRollout('ro-resolve', { canary: { version: 2, percent: 25 }, shadow: { version: 3 } })).status,
    ).toBe(200);
    let canaries = 0;
    for (let i = 0; i < 60; i++) {
      const client = `c_client${i.toString().padStart(3, '0')}`;
      const expected = (await canaryBucket('ro-resolve', 'production', client)) < 25;
      const first = await resolve('ro-resolve', client);
      expect(first).toEqual({
        model: 'ro-resolve',
        alias: 'production',
        version: expected ? 2 : 1,
        role: expected ? 'canary' : 'stable',
        shadow: 3,
      });
      expect(await resolve('ro-resolve', client)).toEqual(first);
      if (expected) canaries++;
    }
    expect(canaries).toBeGreaterThan(0);
    expect(canaries).toBeLessThan(60);
    expect(await resolve('ro-resolve')).toMatchObject({ version: 1, role: 'stable', shadow: 3 });
  });

  it('clears the rollout with an empty body and still records the change', async () => {
    await setup('ro-clear', 2);
    expect((await putRollout('ro-clear', { canary: { version: 2, percent: 100 } })).status).toBe(200);
    expect(await resolve('ro-clear', 'c_anyone01')).toMatchObject({ version: 2, role: 'canary' });
    const res = await putRollout('ro-clear', {});
    expect(res.status).toBe(200);
    const info = (await res.json()) as Info;
    expect(info.rollout).toEqual({});
    expect(info.history.map((e) => e.kind)).toEqual(['rollout', 'rollout', 'move']);
    expect(await resolve('ro-clear', 'c_anyone01')).toEqual({
      model: 'ro-clear',
      alias: 'production',
      version: 1,
      role: 'stable',
    });
  });

  it('refuses unknown models, aliases and versions, bad percents and archived versions, writing nothing', async () => {
    await setup('ro-bad', 3);
    expect((await post('ro-bad', 'versions/3/archive')).status).toBe(200);
    const before = await snapshot('ro-bad');
    await expectError(await putRollout('ro-bad', { canary: { version: 9, percent: 5 } }), 404, 'VERSION_NOT_FOUND');
    await expectError(await putRollout('ro-bad', { shadow: { version: 9 } }), 404, 'VERSION_NOT_FOUND');
    await expectError(await putRollout('ro-bad', { canary: { version: 3, percent: 5 } }), 409, 'VERSION_ARCHIVED');
    await expectError(await putRollout('ro-bad', { shadow: { version: 3 } }), 409, 'VERSION_ARCHIVED');
    const message = await expectError(
      await putRollout('ro-bad', { canary: { version: 2, percent: 101 } }),
      400,
      'INVALID_BODY',
    );
    expect(message).toContain('canary.percent');
    await expectError(await putRollout('ro-bad', { canary: { version: 2 } }), 400, 'INVALID_BODY');
    await expectError(
      await sendJson('PUT', path('ro-bad', 'aliases/staging/rollout'), { shadow: { version: 2 } }, ADMIN_KEY),
      404,
      'ALIAS_NOT_FOUND',
    );
    await expectError(await putRollout('ro-none', { shadow: { version: 1 } }), 404, 'MODEL_NOT_FOUND');
    const asText = { method: 'PUT', key: ADMIN_KEY, headers: { 'Content-Type': 'text/plain' }, body: '{}' };
    await expectError(await api(path('ro-bad', 'aliases/production/rollout'), asText), 415, 'UNSUPPORTED_MEDIA_TYPE');
    for (const key of [CLIENT_KEY, (await makeKey('read')).key]) {
      await expectError(await putRollout('ro-bad', { shadow: { version: 2 } }, key), 403, 'FORBIDDEN');
    }
    expect(await snapshot('ro-bad')).toEqual(before);
  });

  it('lets a client key download the canary and shadow versions only while the rollout names them', async () => {
    await setup('ro-access', 3);
    const version = (v: number) => api(path('ro-access', `versions/${v}`), { key: CLIENT_KEY });
    expect((await version(2)).status).toBe(403);
    expect(
      (await putRollout('ro-access', { canary: { version: 2, percent: 10 }, shadow: { version: 3 } })).status,
    ).toBe(200);
    expect((await version(2)).status).toBe(200);
    expect((await version(3)).status).toBe(200);
    expect((await putRollout('ro-access', {})).status).toBe(200);
    expect((await version(2)).status).toBe(403);
  });
});

describe('rollback', () => {
  it('moves the alias back to its previous version, clears the rollout and records it', async () => {
    await setup('rb-move', 3);
    const publisher = await makeKey('publish');
    await sendJson('PUT', path('rb-move', 'aliases/production'), { version: 2 }, ADMIN_KEY);
    await putRollout('rb-move', { canary: { version: 3, percent: 50 }, shadow: { version: 1 } });
    const res = await post('rb-move', 'aliases/production/rollback', publisher.key);
    expect(res.status).toBe(200);
    const info = (await res.json()) as Info;
    expect(info).toMatchObject({ version: 1, rollout: {} });
    expect(info.history[0]).toMatchObject({ kind: 'rollback', from: 2, to: 1, reason: null, keyId: publisher.id });
    expect(info.history.map((e) => e.kind)).toEqual(['rollback', 'rollout', 'move', 'move']);
    expect(await resolve('rb-move', 'c_anyone01')).toEqual({
      model: 'rb-move',
      alias: 'production',
      version: 1,
      role: 'stable',
    });
    // The rollback is the last move now, so rolling back again returns to 2.
    expect(((await (await post('rb-move', 'aliases/production/rollback')).json()) as Info).version).toBe(2);
  });

  it('answers 409 NOTHING_TO_ROLL_BACK for an alias set only once, 404 for an unknown one, writing nothing', async () => {
    await setup('rb-none', 2);
    await putRollout('rb-none', { canary: { version: 2, percent: 5 } });
    const before = await snapshot('rb-none');
    await expectError(await post('rb-none', 'aliases/production/rollback'), 409, 'NOTHING_TO_ROLL_BACK');
    await expectError(await post('rb-none', 'aliases/staging/rollback'), 404, 'ALIAS_NOT_FOUND');
    await expectError(await post('rb-nope', 'aliases/production/rollback'), 404, 'MODEL_NOT_FOUND');
    await expectError(await post('rb-none', 'aliases/production/rollback', CLIENT_KEY), 403, 'FORBIDDEN');
    expect(await snapshot('rb-none')).toEqual(before);
  });

  it('refuses to roll back to an archived version', async () => {
    await setup('rb-archived', 2);
    await sendJson('PUT', path('rb-archived', 'aliases/production'), { version: 2 }, ADMIN_KEY);
    expect((await post('rb-archived', 'versions/1/archive')).status).toBe(200);
    const before = await snapshot('rb-archived');
    await expectError(await post('rb-archived', 'aliases/production/rollback'), 409, 'VERSION_ARCHIVED');
    expect(await snapshot('rb-archived')).toEqual(before);
  });
});

describe('archive', () => {
  it('archives an unused version, which then cannot be an alias or rollout target', async () => {
    await setup('ar-ok', 2);
    const res = await post('ar-ok', 'versions/2/archive');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model: 'ar-ok', version: 2, status: 'archived' });
    const row = await env.DB.prepare("SELECT status FROM versions WHERE model = 'ar-ok' AND version = 2").first();
    expect(row).toEqual({ status: 'archived' });
    expect((await post('ar-ok', 'versions/2/archive')).status).toBe(200);
    const before = await snapshot('ar-ok');
    await expectError(
      await sendJson('PUT', path('ar-ok', 'aliases/production'), { version: 2 }, ADMIN_KEY),
      409,
      'VERSION_ARCHIVED',
    );
    await expectError(
      await sendJson('PUT', path('ar-ok', 'aliases/staging'), { version: 2 }, ADMIN_KEY),
      409,
      'VERSION_ARCHIVED',
    );
    await expectError(await putRollout('ar-ok', { canary: { version: 2, percent: 50 } }), 409, 'VERSION_ARCHIVED');
    expect(await snapshot('ar-ok')).toEqual(before);
    expect(await resolve('ar-ok', 'c_anyone01')).toMatchObject({ version: 1, role: 'stable' });
  });

  it('refuses with VERSION_IN_USE while an alias, a canary or a shadow points at it, writing nothing', async () => {
    await setup('ar-used', 3);
    await putRollout('ar-used', { canary: { version: 2, percent: 10 }, shadow: { version: 3 } });
    const before = await snapshot('ar-used');
    for (const version of [1, 2, 3]) {
      const message = await expectError(await post('ar-used', `versions/${version}/archive`), 409, 'VERSION_IN_USE');
      expect(message).toContain('production');
    }
    await expectError(await post('ar-used', 'versions/9/archive'), 404, 'VERSION_NOT_FOUND');
    await expectError(await post('ar-nope', 'versions/1/archive'), 404, 'MODEL_NOT_FOUND');
    await expectError(await post('ar-used', 'versions/0/archive'), 400, 'BAD_REQUEST');
    await expectError(await post('ar-used', 'versions/3/archive', (await makeKey('read')).key), 403, 'FORBIDDEN');
    expect(await snapshot('ar-used')).toEqual(before);
  });
});
