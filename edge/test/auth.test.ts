import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../protocol/hash.ts';
import { KEY_CHECK_MS } from '../src/auth/authenticate.ts';
import {
  ADMIN_KEY,
  api,
  bytes,
  CLIENT_KEY,
  count,
  expectError,
  makeKey,
  manifest,
  publishForm,
  sendJson,
} from './helpers.ts';

describe('authentication', () => {
  it('refuses a request without a key with 401 UNAUTHORIZED', async () => {
    await expectError(await api('/v1/models'), 401, 'UNAUTHORIZED');
  });

  it('refuses a malformed Authorization header', async () => {
    await expectError(await api('/v1/models', { headers: { Authorization: ADMIN_KEY } }), 401, 'UNAUTHORIZED');
  });

  it('refuses an unknown key', async () => {
    await expectError(await api('/v1/models', { key: 'not-a-key' }), 401, 'UNAUTHORIZED');
  });

  it('stores the env keys hashed under stable ids on first use', async () => {
    expect((await api('/v1/models', { key: ADMIN_KEY })).status).toBe(200);
    expect((await api('/v1/models/x/resolve', { key: CLIENT_KEY })).status).toBe(404);
    const { results } = await env.DB.prepare(
      "SELECT id, hash, scopes FROM api_keys WHERE id LIKE 'bootstrap-%' ORDER BY id",
    ).all();
    expect(results).toEqual([
      { id: 'bootstrap-admin', hash: await sha256Hex(bytes(ADMIN_KEY)), scopes: 'admin' },
      { id: 'bootstrap-client', hash: await sha256Hex(bytes(CLIENT_KEY)), scopes: 'client' },
    ]);
  });

  it('refuses a revoked key with 401 and keeps the first revocation time', async () => {
    const { id, key } = await makeKey('read');
    expect((await api('/v1/models', { key })).status).toBe(200);
    const revoked = await api(`/v1/keys/${id}/revoke`, { method: 'POST', key: ADMIN_KEY });
    expect(revoked.status).toBe(200);
    const first = (await revoked.json()) as { id: string; revokedAt: number };
    expect(first.id).toBe(id);
    expect(first.revokedAt).toBeGreaterThan(0);
    const message = await expectError(await api('/v1/models', { key }), 401, 'UNAUTHORIZED');
    expect(message).toContain('revoked');
    const again = (await (await api(`/v1/keys/${id}/revoke`, { method: 'POST', key: ADMIN_KEY })).json()) as {
      revokedAt: number;
    };
    expect(again.revokedAt).toBe(first.revokedAt);
  });

  it('answers 404 NOT_FOUND when revoking an unknown key', async () => {
    await expectError(await api('/v1/keys/key_missing/revoke', { method: 'POST', key: ADMIN_KEY }), 404, 'NOT_FOUND');
  });
  it('stops accepting a key revoked elsewhere within KEY_CHECK_MS (an isolate reuses a valid check that long)', async () => {
    const { id, key } = await makeKey('read');
    expect((await api('/v1/models', { key })).status).toBe(200);
    // As another isolate's revocation: D1 changes, this isolate's cache does not hear of it.
    await env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').bind(Date.now(), id).run();
    expect((await api('/v1/models', { key })).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + KEY_CHECK_MS + 1 });
    try {
      await expectError(await api('/v1/models', { key }), 401, 'UNAUTHORIZED');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('scopes', () => {
  it('forbids a client key to publish (403) and writes nothing', async () => {
    const before = { models: await count('models'), versions: await count('versions'), files: await count('files') };
    const res = await api('/v1/models/clientpub/versions', {
      method: 'POST',
      key: CLIENT_KEY,
      body: publishForm(manifest('clientpub', ['model.json']), { 'model.json': bytes('{}') }),
    });
    const message = await expectError(res, 403, 'FORBIDDEN');
    expect(message).toContain('publish');
    expect({ models: await count('models'), versions: await count('versions'), files: await count('files') }).toEqual(
      before,
    );
    expect((await env.ARTIFACTS.list({ prefix: 'blobs/' })).objects).toHaveLength(0);
  });

  it('forbids a read key to publish, and lets a publish key read', async () => {
    const reader = await makeKey('read');
    const publisher = await makeKey('publish');
    const form = publishForm(manifest('readpub', ['model.json']), { 'model.json': bytes('{}') });
    await expectError(
      await api('/v1/models/readpub/versions', { method: 'POST', key: reader.key, body: form }),
      403,
      'FORBIDDEN',
    );
    expect((await api('/v1/models', { key: publisher.key })).status).toBe(200);
  });

  it('forbids a client key to read the registry list and a read key to post events', async () => {
    await expectError(await api('/v1/models', { key: CLIENT_KEY }), 403, 'FORBIDDEN');
    const reader = await makeKey('read');
    await expectError(await sendJson('POST', '/v1/events', {}, reader.key), 403, 'FORBIDDEN');
  });

  it('reserves key management to admin keys', async () => {
    const publisher = await makeKey('publish');
    await expectError(await api('/v1/keys', { key: publisher.key }), 403, 'FORBIDDEN');
    await expectError(
      await sendJson('POST', '/v1/keys', { name: 'x', scopes: ['admin'] }, publisher.key),
      403,
      'FORBIDDEN',
    );
  });
});

describe('key management', () => {
  it('shows a new key once and lists keys without hashes or secrets', async () => {
    const created = await makeKey('read', 'client');
    expect(created.key).toMatch(/^elk_[0-9a-f]{64}$/);
    const stored = await env.DB.prepare('SELECT hash, scopes FROM api_keys WHERE id = ?').bind(created.id).first();
    expect(stored).toEqual({ hash: await sha256Hex(bytes(created.key)), scopes: 'read,client' });

    const res = await api('/v1/keys', { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(created.key);
    expect(text).not.toContain('hash');
    const { keys } = JSON.parse(text) as { keys: { id: string; scopes: string[]; revokedAt: number | null }[] };
    expect(keys.find((k) => k.id === created.id)).toMatchObject({ scopes: ['read', 'client'], revokedAt: null });
  });

  it('names the invalid field when creating a key', async () => {
    const before = await count('api_keys');
    const message = await expectError(
      await sendJson('POST', '/v1/keys', { name: 'x', scopes: ['root'] }, ADMIN_KEY),
      400,
      'INVALID_BODY',
    );
    expect(message).toContain('scopes[0]');
    await expectError(await sendJson('POST', '/v1/keys', { scopes: ['read'] }, ADMIN_KEY), 400, 'INVALID_BODY');
    expect(await count('api_keys')).toBe(before);
  });

  it('refuses a key request that is not JSON with 415', async () => {
    const res = await api('/v1/keys', { method: 'POST', key: ADMIN_KEY, body: 'name=x' });
    await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});
