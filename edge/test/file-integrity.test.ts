import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../protocol/hash.ts';
import { blobKey } from '../src/storage/blobs.ts';
import { DENSE_WEIGHTS, denseFiles, denseManifest } from './dense-model.ts';
import { publishDrift, shifted } from './drift-helpers.ts';
import { ADMIN_KEY, api, bytes, expectError, modelFiles, publish, sendJson } from './helpers.ts';

// Bytes altered in R2 after publish (by an operator or anyone with access to the bucket) are
// never answered as the registry's: not as a version file under its ETag with immutable
// caching, and not as a model the edge runs.

afterEach(() => {
  vi.restoreAllMocks();
});

/** Publishes `files` as version 1 of `model`; returns the sha256 the registry recorded for each path. */
async function published(model: string, files: Record<string, Uint8Array>, man?: unknown) {
  const res = await publish(model, files, man);
  expect(res.status, await res.clone().text()).toBe(201);
  const body = (await res.json()) as { files: { path: string; sha256: string }[] };
  return Object.fromEntries(body.files.map((f) => [f.path, f.sha256]));
}

const fileUrl = (model: string, path: string) => `/v1/models/${model}/versions/1/files/${path}`;

describe('GET …/files/{path} checks the stored bytes against the registry', () => {
  it('refuses bytes altered in R2 with 500 DIGEST_MISMATCH, uncached, and logs it', async () => {
    const files = modelFiles('integrity-serve');
    const sha = await published('integrity-serve', files);
    const good = await api(fileUrl('integrity-serve', 'weights.bin'), { key: ADMIN_KEY });
    expect(good.status).toBe(200);
    expect(good.headers.get('cache-control')).toContain('immutable');
    expect(new Uint8Array(await good.arrayBuffer())).toEqual(files['weights.bin']);

    const tampered = new Uint8Array(Float32Array.of(1e6).buffer);
    await env.ARTIFACTS.put(blobKey(sha['weights.bin'] as string), tampered);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await api(fileUrl('integrity-serve', 'weights.bin'), { key: ADMIN_KEY });
    expect(res.headers.get('cache-control') ?? '').not.toContain('immutable');
    expect(res.headers.get('etag')).toBeNull();
    const message = await expectError(res, 500, 'DIGEST_MISMATCH');
    expect(message).toContain('weights.bin');
    expect(message).toContain(sha['weights.bin']);
    expect(logged).toHaveBeenCalledWith(
      expect.stringContaining('does not match its sha256'),
      expect.objectContaining({ key: blobKey(sha['weights.bin'] as string), actual: await sha256Hex(tampered) }),
    );
    // The other file of the version is intact and still served.
    expect((await api(fileUrl('integrity-serve', 'model.json'), { key: ADMIN_KEY })).status).toBe(200);
  });

  it('still answers 304 to a caller whose If-None-Match names the registry digest (it holds the true bytes)', async () => {
    const sha = await published('integrity-304', modelFiles('integrity-304'));
    const digest = sha['weights.bin'] as string;
    await env.ARTIFACTS.put(blobKey(digest), bytes('altered'));
    const res = await api(fileUrl('integrity-304', 'weights.bin'), {
      key: ADMIN_KEY,
      headers: { 'If-None-Match': `"${digest}"` },
    });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe('');
  });

  it('refuses a blob missing from R2 with 500 and no caching headers', async () => {
    const sha = await published('integrity-gone', modelFiles('integrity-gone'));
    await env.ARTIFACTS.delete(blobKey(sha['model.json'] as string));
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await api(fileUrl('integrity-gone', 'model.json'), { key: ADMIN_KEY });
    expect(res.headers.get('cache-control') ?? '').not.toContain('immutable');
    expect(await expectError(res, 500, 'INTERNAL')).toContain('missing from storage');
  });
});

describe('the edge runs only verified model files', () => {
  it('refuses to load a model whose model.json was altered in R2 (500 DIGEST_MISMATCH)', async () => {
    const files = await denseFiles(DENSE_WEIGHTS);
    const sha = await published('integrity-infer', files, denseManifest('integrity-infer'));
    const altered = new TextDecoder().decode(files['model.json']).replace('"units":2', '"units":2 ');
    await env.ARTIFACTS.put(blobKey(sha['model.json'] as string), altered);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await sendJson(
      'POST',
      '/v2/models/integrity-infer/versions/1/infer',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      ADMIN_KEY,
    );
    const text = await res.text();
    expect(res.status, text).toBe(500);
    expect(res.headers.get('edgeloop-error-code')).toBe('DIGEST_MISMATCH');
    expect((JSON.parse(text) as { error: string }).error).toContain('model.json');
  });
});

describe('a drift reference altered in R2', () => {
  it('is refused, not judged against: the report fails with 500 and says why', async () => {
    const model = 'integrity-reference';
    const version = await publishDrift(model);
    const info = (await (await api(`/v1/models/${model}/versions/${version}`, { key: ADMIN_KEY })).json()) as {
      files: { path: string; sha256: string }[];
    };
    const reference = info.files.find((f) => f.path === 'reference.json');
    if (!reference) throw new Error('the version has no reference.json');
    await env.ARTIFACTS.put(blobKey(reference.sha256), bytes(JSON.stringify(shifted(2000, 3))));
    vi.spyOn(console, 'error').mockImplementation(() => {});
    // The default range: the last 24 hours.
    const res = await api(`/v1/models/${model}/versions/${version}/drift`, { key: ADMIN_KEY });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('sha256');
  });
});
