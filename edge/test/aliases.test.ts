import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, api, CLIENT_KEY, count, expectError, makeKey, modelFiles, publish, sendJson } from './helpers.ts';

async function publishVersions(model: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    expect((await publish(model, modelFiles(`v${i}`, { weight: i }))).status).toBe(201);
  }
}

describe('aliases', () => {
  it('moves an alias and keeps its history newest first, with who and why', async () => {
    await publishVersions('alias-hist', 2);
    const publisher = await makeKey('publish');
    const first = await sendJson('PUT', '/v1/models/alias-hist/aliases/production', { version: 1 }, ADMIN_KEY);
    expect(first.status).toBe(200);
    const moved = await sendJson(
      'PUT',
      '/v1/models/alias-hist/aliases/production',
      { version: 2, reason: 'better holdout accuracy' },
      publisher.key,
    );
    expect(moved.status).toBe(200);
    const info = (await moved.json()) as {
      model: string;
      alias: string;
      version: number;
      history: { at: number; from: number | null; to: number; reason: string | null; keyId: string }[];
    };
    expect(info).toMatchObject({ model: 'alias-hist', alias: 'production', version: 2, rollout: {} });
    expect(info.history.map(({ at: _at, ...rest }) => rest)).toEqual([
      { kind: 'move', from: 1, to: 2, reason: 'better holdout accuracy', keyId: publisher.id },
      { kind: 'move', from: null, to: 1, reason: null, keyId: 'bootstrap-admin' },
    ]);
    expect(info.history[0]?.at).toBeGreaterThanOrEqual(info.history[1]?.at ?? Number.POSITIVE_INFINITY);

    const got = await api('/v1/models/alias-hist/aliases/production', { key: ADMIN_KEY });
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(info);
    expect(await count('alias_events', 'model = ?', 'alias-hist')).toBe(2);
  });

  it('refuses a version that does not exist and writes nothing', async () => {
    await publishVersions('alias-missing', 1);
    const res = await sendJson('PUT', '/v1/models/alias-missing/aliases/production', { version: 5 }, ADMIN_KEY);
    await expectError(res, 404, 'VERSION_NOT_FOUND');
    const unknown = await sendJson('PUT', '/v1/models/alias-none/aliases/production', { version: 1 }, ADMIN_KEY);
    await expectError(unknown, 404, 'MODEL_NOT_FOUND');
    expect(await count('aliases', 'model IN (?, ?)', 'alias-missing', 'alias-none')).toBe(0);
    expect(await count('alias_events', 'model IN (?, ?)', 'alias-missing', 'alias-none')).toBe(0);
  });

  it('validates the alias name and body, naming the field', async () => {
    await publishVersions('alias-valid', 1);
    await expectError(
      await sendJson('PUT', '/v1/models/alias-valid/aliases/latest', { version: 1 }, ADMIN_KEY),
      400,
      'INVALID_NAME',
    );
    const message = await expectError(
      await sendJson('PUT', '/v1/models/alias-valid/aliases/production', { version: 0 }, ADMIN_KEY),
      400,
      'INVALID_BODY',
    );
    expect(message).toContain('version');
    await expectError(
      await api('/v1/models/alias-valid/aliases/production', {
        method: 'PUT',
        key: ADMIN_KEY,
        headers: { 'Content-Type': 'application/json' },
        body: '{"version":',
      }),
      400,
      'INVALID_BODY',
    );
    expect(await count('alias_events', 'model = ?', 'alias-valid')).toBe(0);
  });

  it('forbids client and read keys to move an alias', async () => {
    await publishVersions('alias-scope', 1);
    const reader = await makeKey('read');
    for (const key of [CLIENT_KEY, reader.key]) {
      await expectError(
        await sendJson('PUT', '/v1/models/alias-scope/aliases/production', { version: 1 }, key),
        403,
        'FORBIDDEN',
      );
    }
    expect(await count('aliases', 'model = ?', 'alias-scope')).toBe(0);
  });

  it('answers ALIAS_NOT_FOUND for an alias never set', async () => {
    await publishVersions('alias-unset', 1);
    await expectError(await api('/v1/models/alias-unset/aliases/staging', { key: ADMIN_KEY }), 404, 'ALIAS_NOT_FOUND');
  });
});

describe('resolve', () => {
  it('resolves an alias to its stable version for a client key', async () => {
    await publishVersions('resolve-me', 2);
    await sendJson('PUT', '/v1/models/resolve-me/aliases/production', { version: 2 }, ADMIN_KEY);
    const res = await api('/v1/models/resolve-me/resolve?alias=production&client=c_12345678', { key: CLIENT_KEY });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model: 'resolve-me', alias: 'production', version: 2, role: 'stable' });
    const byDefault = await api('/v1/models/resolve-me/resolve', { key: CLIENT_KEY });
    expect(((await byDefault.json()) as { version: number }).version).toBe(2);
  });

  it('answers 404 for an unknown alias or model, 400 for a bad client id', async () => {
    await publishVersions('resolve-none', 1);
    await expectError(
      await api('/v1/models/resolve-none/resolve?alias=beta', { key: CLIENT_KEY }),
      404,
      'ALIAS_NOT_FOUND',
    );
    await expectError(await api('/v1/models/resolve-nope/resolve', { key: CLIENT_KEY }), 404, 'MODEL_NOT_FOUND');
    const message = await expectError(
      await api('/v1/models/resolve-none/resolve?client=bad', { key: CLIENT_KEY }),
      400,
      'BAD_REQUEST',
    );
    expect(message).toContain('client');
  });

  it('answers 304 to a poll whose ETag still matches, and the new answer once the alias moved', async () => {
    await publishVersions('resolve-etag', 2);
    await sendJson('PUT', '/v1/models/resolve-etag/aliases/production', { version: 1 }, ADMIN_KEY);
    const path = '/v1/models/resolve-etag/resolve?alias=production';
    const first = await api(path, { key: CLIENT_KEY });
    const etag = first.headers.get('etag');
    expect(etag).toBe('"1-stable-none"');
    const unchanged = await api(path, { key: CLIENT_KEY, headers: { 'If-None-Match': etag ?? '' } });
    expect(unchanged.status).toBe(304);
    expect(await unchanged.text()).toBe('');
    await sendJson('PUT', '/v1/models/resolve-etag/aliases/production', { version: 2 }, ADMIN_KEY);
    const moved = await api(path, { key: CLIENT_KEY, headers: { 'If-None-Match': etag ?? '' } });
    expect(moved.status).toBe(200);
    expect(moved.headers.get('etag')).toBe('"2-stable-none"');
    expect(((await moved.json()) as { version: number }).version).toBe(2);
  });

  it('reads the alias row in D1', async () => {
    await publishVersions('resolve-db', 1);
    await sendJson('PUT', '/v1/models/resolve-db/aliases/production', { version: 1 }, ADMIN_KEY);
    const row = await env.DB.prepare("SELECT version, updated_by FROM aliases WHERE model = 'resolve-db'").first();
    expect(row).toEqual({ version: 1, updated_by: 'bootstrap-admin' });
  });
});
