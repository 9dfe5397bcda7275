import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/hash.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => EdgeloopError.from(e).code,
  );

describe('load', () => {
  it('downloads, verifies and caches the model files, then serves from the cache', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api, db } = await startWorker({ edge });

    const first = await api.load({ v: 1, model: 'digits' });
    expect(first).toMatchObject({ model: 'digits', alias: 'production', version: 1, cached: 0 });
    expect(first.backend).toMatchObject({ backend: 'cpu', requested: 'cpu' });
    expect(edge.count('/v1/models/digits/versions/1/files/')).toBe(2);
    const cachedFiles = await db().files.toArray();
    expect(cachedFiles.map((f) => f.sha256).sort()).toEqual(
      (edge.versions.get('digits/1')?.files ?? []).map((f) => f.sha256).sort(),
    );

    const second = await api.load({ v: 1, model: 'digits', alias: 'production' });
    expect(second.cached).toBe(2);
    expect(edge.count('/v1/models/digits/versions/1/files/')).toBe(2);
    expect(edge.requests.at(-2)?.path).toMatch(/^\/v1\/models\/digits\/resolve\?alias=production&client=c_/);
    await api.dispose();
  });

  it('refuses a file whose bytes do not match the registry digest and caches nothing', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const weights = edge.bytes.get('digits/1/weights.bin') ?? new Uint8Array();
    const evil = weights.slice();
    evil[0] = (evil[0] ?? 0) ^ 0xff;
    edge.tampered.set('weights.bin', evil);
    const { api, db } = await startWorker({ edge });

    await expect(code(api.load({ v: 1, model: 'digits' }))).resolves.toBe('DIGEST_MISMATCH');
    const cached = await db().files.toArray();
    expect(cached.map((f) => f.sha256)).not.toContain(await sha256Hex(evil));
    expect(cached.map((f) => f.sha256)).not.toContain(await sha256Hex(weights));
    await expect(code(api.predict(pixels()))).resolves.toBe('MODEL_NOT_LOADED');
    await api.dispose();
  });

  it('keeps serving the previous model when a later load fails', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    await publishTinyModel(edge, 2);
    edge.tampered.set('model.json', new TextEncoder().encode('{}'));

    await expect(code(api.load({ v: 1, model: 'digits' }))).resolves.toBe('DIGEST_MISMATCH');
    expect((await api.predict(pixels())).version).toBe(1);
    expect((await api.status()).model).toMatchObject({ name: 'digits', version: 1 });
    await api.dispose();
  });

  it('turns edge errors into EDGE_ERROR with the edge code and transport failures into NETWORK', async () => {
    const edge = new FakeEdge();
    const { api } = await startWorker({ edge });
    const missing = await api.load({ v: 1, model: 'nope' }).catch((e: unknown) => EdgeloopError.from(e));
    expect(missing).toMatchObject({ code: 'EDGE_ERROR' });
    expect((missing as Error).message).toContain('ALIAS_NOT_FOUND');

    const offline = await startWorker({
      edge: Object.assign(new FakeEdge(), { fetch: () => Promise.reject(new TypeError('fetch failed')) }),
    });
    await expect(code(offline.api.load({ v: 1, model: 'digits' }))).resolves.toBe('NETWORK');
    await api.dispose();
    await offline.api.dispose();
  });

  it('validates edge replies with the protocol schemas', async () => {
    const edge = new FakeEdge();
    const broken = Object.assign(edge, {
      fetch: async () => Response.json({ model: 'digits', alias: 'production', version: 'one', role: 'stable' }),
    });
    const { api } = await startWorker({ edge: broken });
    const error = await api.load({ v: 1, model: 'digits' }).catch((e: unknown) => EdgeloopError.from(e));
    expect(error).toMatchObject({ code: 'EDGE_ERROR' });
    expect((error as Error).message).toContain('version');
    await api.dispose();
  });
});

describe('predict', () => {
  it('returns probabilities, the argmax label, version, backend and latency', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });

    const result = await api.predict(pixels(3));
    expect(result).toMatchObject({ v: 1, model: 'digits', version: 1, backend: 'cpu' });
    expect(result.predictionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.outputs).toHaveLength(10);
    expect(result.outputs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(result.outputs[result.label]).toBe(Math.max(...result.outputs));
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    await api.dispose();
  });

  it('refuses inputs of the wrong type, size or range', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });

    await expect(api.predict(new Float32Array(10))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^input: expected 784/),
    });
    await expect(api.predict(Array(784).fill(0) as unknown as Float32Array)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^input/),
    });
    const bright = pixels();
    bright[5] = 255;
    await expect(api.predict(bright)).rejects.toThrow(/input\[5\]: 255 is not in \[0, 1\]/);
    await api.dispose();
  });
});
