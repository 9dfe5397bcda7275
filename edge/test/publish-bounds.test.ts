import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { MAX_VERSION_BYTES, MAX_VERSION_FILES } from '../../protocol/manifest.ts';
import { bytes, count, denseModelJson, expectError, manifest, modelFiles, publish } from './helpers.ts';

// A publish is bounded in files (MAX_VERSION_FILES) and bytes (MAX_VERSION_BYTES): a manifest
// listing 10,000 files once held the Worker for minutes. Refusals come before any write.

const LONG = 120_000;

async function snapshot() {
  return {
    models: await count('models'),
    versions: await count('versions'),
    files: await count('files'),
    blobs: (await env.ARTIFACTS.list({ prefix: 'blobs/sha256/' })).objects.length,
  };
}

/**
 * model.json of a tfjs-layers model (a Dense layer of one unit on `shards` × `values` inputs)
 * whose kernel is split across `shards` float32 shards of `values` each.
 */
function layersJson(name: string, shards: number, values: number): string {
  const paths = Array.from({ length: shards }, (_, i) => `w${i}.bin`);
  return JSON.stringify(denseModelJson(name, { inputs: shards * values }, paths));
}

/** The files and manifest of that model, shard i filled with i. */
function shardedModel(name: string, shards: number, values = 1) {
  const files: Record<string, Uint8Array> = { 'model.json': bytes(layersJson(name, shards, values)) };
  for (let i = 0; i < shards; i++) files[`w${i}.bin`] = new Uint8Array(new Float32Array(values).fill(i).buffer);
  return { files, man: manifest(name, Object.keys(files), { inputs: shards * values }) };
}

describe('publish bounds', () => {
  it(
    `refuses a manifest of more than MAX_VERSION_FILES (${MAX_VERSION_FILES}) files before storing anything`,
    async () => {
      const before = await snapshot();
      for (const shards of [MAX_VERSION_FILES, 10_000]) {
        const { files, man } = shardedModel('bounds-many', shards);
        const message = await expectError(await publish('bounds-many', files, man), 400, 'INVALID_MANIFEST');
        expect(message).toContain('manifest.files');
        expect(message).toContain(`at most ${MAX_VERSION_FILES} files`);
        expect(message).toContain('MAX_VERSION_FILES');
      }
      expect(await snapshot()).toEqual(before);
    },
    LONG,
  );

  it(
    'takes exactly MAX_VERSION_FILES files, recording every one',
    async () => {
      const { files, man } = shardedModel('bounds-full', MAX_VERSION_FILES - 1);
      const res = await publish('bounds-full', files, man);
      expect(res.status, await res.clone().text()).toBe(201);
      const body = (await res.json()) as { files: { path: string }[] };
      expect(body.files).toHaveLength(MAX_VERSION_FILES);
      expect(await count('files', 'model = ? AND version = 1', 'bounds-full')).toBe(MAX_VERSION_FILES);
      const row = await env.DB.prepare(
        "SELECT sha256, size, content_type FROM files WHERE model = 'bounds-full' AND path = 'w254.bin'",
      ).first();
      expect(row).toMatchObject({ size: 4, content_type: 'application/octet-stream' });
    },
    LONG,
  );

  it(
    `refuses files totalling more than MAX_VERSION_BYTES (${MAX_VERSION_BYTES}) with 413, naming the limit`,
    async () => {
      const before = await snapshot();
      // The body itself is under the request limit: the files' total is what is refused.
      const values = MAX_VERSION_BYTES / 4;
      const { files, man } = shardedModel('bounds-big', 1, values);
      const res = await publish('bounds-big', files, man);
      const message = await expectError(res, 413, 'PAYLOAD_TOO_LARGE');
      expect(message).toContain(`at most ${MAX_VERSION_BYTES} bytes (MAX_VERSION_BYTES)`);
      expect(await snapshot()).toEqual(before);
    },
    LONG,
  );

  it(
    'takes a version of exactly MAX_VERSION_BYTES',
    async () => {
      const values = (MAX_VERSION_BYTES - 1024) / 4;
      const text = layersJson('bounds-fit', 1, values);
      // Padded with spaces (still JSON) so that model.json and the shard fill the limit to the byte.
      const modelJson = bytes(text.padEnd(MAX_VERSION_BYTES - values * 4, ' '));
      const files = { 'model.json': modelJson, 'w0.bin': new Uint8Array(values * 4) };
      expect(modelJson.byteLength + values * 4).toBe(MAX_VERSION_BYTES);
      const res = await publish('bounds-fit', files, manifest('bounds-fit', Object.keys(files), { inputs: values }));
      expect(res.status, await res.clone().text()).toBe(201);
    },
    LONG,
  );

  it('records a two-file version as before', async () => {
    const res = await publish('bounds-small', modelFiles('bounds-small'));
    expect(res.status).toBe(201);
    expect(await count('files', 'model = ?', 'bounds-small')).toBe(2);
  });
});
