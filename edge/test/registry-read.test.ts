import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../protocol/hash.ts';
import {
  ADMIN_KEY,
  api,
  bytes,
  CLIENT_KEY,
  denseModelJson,
  expectError,
  makeKey,
  manifest,
  modelFiles,
  publish,
  publishAliased,
  sendJson,
} from './helpers.ts';

/** A binary body as text (Response.text() warns on octet-stream). */
const bytesOf = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

describe('registry reads', () => {
  it('lists models with their latest version and aliases', async () => {
    await publishAliased('read-list', 'production');
    await publish('read-list', modelFiles('read-list-2', { weight: 2 }));
    const reader = await makeKey('read');
    const res = await api('/v1/models', { key: reader.key });
    expect(res.status).toBe(200);
    const { models } = (await res.json()) as { models: unknown[] };
    expect(models).toContainEqual({ name: 'read-list', latestVersion: 2, aliases: { production: 1 }, attention: {} });
  });

  it('lists the versions of a model, and 404s an unknown model', async () => {
    await publish('read-versions', modelFiles('a'));
    await publish('read-versions', modelFiles('b'));
    const res = await api('/v1/models/read-versions/versions', { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      model: string;
      versions: { version: number; status: string; createdAt: number }[];
    };
    expect(body.model).toBe('read-versions');
    expect(body.versions.map((v) => [v.version, v.status])).toEqual([
      [1, 'ready'],
      [2, 'ready'],
    ]);
    expect(body.versions[0]?.createdAt).toBeGreaterThan(0);
    await expectError(await api('/v1/models/no-such-model/versions', { key: ADMIN_KEY }), 404, 'MODEL_NOT_FOUND');
  });

  it('returns a version manifest with file digests', async () => {
    const files = modelFiles('read-info', { weight: 7 });
    const weights = files['weights.bin'] as Uint8Array;
    await publish('read-info', files);
    const res = await api('/v1/models/read-info/versions/1', { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    const info = (await res.json()) as {
      model: string;
      version: number;
      status: string;
      manifest: { name: string; files: { path: string; sha256: string }[] };
      files: { path: string; sha256: string; size: number }[];
    };
    expect(info).toMatchObject({ model: 'read-info', version: 1, status: 'ready' });
    expect(info.manifest.name).toBe('read-info');
    const sha256 = await sha256Hex(weights);
    expect(info.files).toContainEqual({ path: 'weights.bin', sha256, size: weights.byteLength });
    expect(info.manifest.files).toContainEqual({ path: 'weights.bin', role: 'weights', sha256 });
    await expectError(await api('/v1/models/read-info/versions/9', { key: ADMIN_KEY }), 404, 'VERSION_NOT_FOUND');
    await expectError(await api('/v1/models/read-info/versions/abc', { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    await expectError(await api('/v1/models/unknown-model/versions/1', { key: ADMIN_KEY }), 404, 'MODEL_NOT_FOUND');
  });

  it('downloads a file with its sha256 as ETag, immutable caching, and 304 on If-None-Match', async () => {
    const files = modelFiles('read-file');
    const json = files['model.json'] as Uint8Array;
    await publish('read-file', files);
    const path = '/v1/models/read-file/versions/1/files/model.json';
    const res = await api(path, { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    const etag = `"${await sha256Hex(json)}"`;
    expect(res.headers.get('etag')).toBe(etag);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(json);

    const weights = await api('/v1/models/read-file/versions/1/files/weights.bin', { key: ADMIN_KEY });
    expect(weights.headers.get('content-type')).toBe('application/octet-stream');
    expect(new Uint8Array(await weights.arrayBuffer())).toEqual(files['weights.bin']);

    const cached = await api(path, { key: ADMIN_KEY, headers: { 'If-None-Match': etag } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
    expect(await cached.text()).toBe('');

    const stale = await api(path, { key: ADMIN_KEY, headers: { 'If-None-Match': '"0000"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();

    const missing = await api('/v1/models/read-file/versions/1/files/nope.bin', { key: ADMIN_KEY });
    await expectError(missing, 404, 'FILE_NOT_FOUND');
  });

  it('serves files under nested paths', async () => {
    const shard = bytes('shard-01'); // two float32 values (finite): the kernel of a Dense layer on two inputs
    const modelJson = denseModelJson('read-nested', { inputs: 2 }, ['shards/group1-shard1of1.bin']);
    const files = { 'model.json': bytes(JSON.stringify(modelJson)), 'shards/group1-shard1of1.bin': shard };
    const res = await publish('read-nested', files, manifest('read-nested', Object.keys(files), { inputs: 2 }));
    expect(res.status).toBe(201);
    const file = await api('/v1/models/read-nested/versions/1/files/shards/group1-shard1of1.bin', { key: ADMIN_KEY });
    expect(file.status).toBe(200);
    expect(await bytesOf(file)).toBe('shard-01');
  });
});

describe('client keys on the registry', () => {
  it('may read a version an alias points at, and its files', async () => {
    const version = await publishAliased('read-client');
    const info = await api(`/v1/models/read-client/versions/${version}`, { key: CLIENT_KEY });
    expect(info.status).toBe(200);
    await info.json();
    const file = await api(`/v1/models/read-client/versions/${version}/files/weights.bin`, { key: CLIENT_KEY });
    expect(file.status).toBe(200);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(modelFiles('read-client')['weights.bin']);
  });

  it('may not read a version no alias points at', async () => {
    await publishAliased('read-client2');
    await publish('read-client2', modelFiles('unreleased', { weight: 2 }));
    await expectError(await api('/v1/models/read-client2/versions/2', { key: CLIENT_KEY }), 403, 'FORBIDDEN');
    await expectError(
      await api('/v1/models/read-client2/versions/2/files/weights.bin', { key: CLIENT_KEY }),
      403,
      'FORBIDDEN',
    );
    await expectError(await api('/v1/models/read-client2/versions', { key: CLIENT_KEY }), 403, 'FORBIDDEN');
  });

  it('loses access to a version once its alias moves on', async () => {
    await publishAliased('read-moved');
    await publish('read-moved', modelFiles('v2', { weight: 2 }));
    expect((await sendJson('PUT', '/v1/models/read-moved/aliases/production', { version: 2 }, ADMIN_KEY)).status).toBe(
      200,
    );
    await expectError(await api('/v1/models/read-moved/versions/1', { key: CLIENT_KEY }), 403, 'FORBIDDEN');
    expect((await api('/v1/models/read-moved/versions/2', { key: CLIENT_KEY })).status).toBe(200);
  });
});
