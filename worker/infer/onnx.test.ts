import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { BackendRegistry } from '../backends/registry.ts';
import { detectEnv, type RuntimeEnv } from '../env.ts';
import { FakeEdge, type FakeFile } from '../test/fake-edge.ts';
import { pixels, startWorker } from '../test/harness.ts';
import { readRepoFile } from '../test/node-files.ts';
import { tinyModelFiles } from '../test/tiny-model.ts';
import { withOnnxExport } from '../test/tiny-onnx.ts';
import { createOnnxSession, importOrt, ortError } from './onnx.ts';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );

/** digits v1 on a fresh fake edge: the tiny tfjs model, its ONNX twin unless `onnx` is false, and `extra` files. */
async function edgeWithTwins(onnx = true, extra: FakeFile[] = []): Promise<FakeEdge> {
  const edge = new FakeEdge();
  await tf.setBackend('cpu');
  const files = await tinyModelFiles([28, 28, 1], 7);
  await edge.publish('digits', 1, [...(onnx ? withOnnxExport(files) : files), ...extra]);
  return edge;
}

/** Node's environment as a browser with WebGPU and JSPI would report it (ORT's WebGPU build cannot start in Node). */
const withAdapter = async (): Promise<RuntimeEnv> => ({
  ...(await detectEnv()),
  jspi: true,
  webgpu: { available: true, adapter: { architecture: 'swiftshader', vendor: 'google', isFallbackAdapter: true } },
});

describe("runtime 'onnx'", () => {
  it('predicts what tfjs predicts on the same weights, and records the prediction the same way', async () => {
    const edge = await edgeWithTwins();
    const tfjs = await startWorker({ edge, backend: 'cpu' });
    const onnx = await startWorker({ edge, backend: 'auto', init: { runtime: 'onnx' } });
    await tfjs.api.load({ v: 1, model: 'digits' });
    const loaded = await onnx.api.load({ v: 1, model: 'digits' });
    expect(loaded.backend).toMatchObject({ backend: 'onnx-wasm', requested: 'auto' });
    expect(loaded.backend.skipped['onnx-webgpu']).toContain('navigator.gpu is missing');
    expect(loaded.backend.warmupMs['onnx-wasm']).toBeGreaterThan(0);

    const answers: number[][] = [];
    for (const seed of [0, 1, 2]) {
      const expected = await tfjs.api.predict(pixels(seed));
      const actual = await onnx.api.predict(pixels(seed));
      answers.push(actual.outputs);
      expect(actual).toMatchObject({ model: 'digits', version: 1, label: expected.label, backend: 'onnx-wasm' });
      for (const [i, p] of actual.outputs.entries()) expect(p).toBeCloseTo(expected.outputs[i] ?? Number.NaN, 5);
    }
    // The export names its input `input`, the manifest `image`: inputs go by the manifest's names.
    const named = await onnx.api.predict({ image: pixels(0) });
    expect(Object.keys(named.tensors)).toEqual(['probabilities']);
    expect(named.outputs).toEqual(answers[0]);

    const db = onnx.db();
    const stored = await db.predictions.toArray();
    expect(stored.map((p) => p.backend)).toEqual(['onnx-wasm', 'onnx-wasm', 'onnx-wasm', 'onnx-wasm']);
    expect(await db.profiles.count()).toBe(1);
    // The event schema names devices: the edge hears which one ORT ran on, and accepts it.
    const sync = await onnx.api.sync();
    expect(sync).toMatchObject({ accepted: 4, rejected: 0 });
    expect([...edge.events.values()].map((e) => e.type === 'prediction' && e.backend)).toEqual([
      'wasm',
      'wasm',
      'wasm',
      'wasm',
    ]);
    db.close();
    await tfjs.api.dispose();
    await onnx.api.dispose();
  });

  it('downloads the onnx file once, verified by sha256, and serves it from the cache after', async () => {
    const edge = await edgeWithTwins();
    const { api } = await startWorker({ edge, backend: 'wasm', init: { runtime: 'onnx' } });
    expect(await api.load({ v: 1, model: 'digits' })).toMatchObject({ cached: 0, backend: { backend: 'onnx-wasm' } });
    expect(await api.load({ v: 1, model: 'digits' })).toMatchObject({ cached: 1 });
    expect(edge.count('/v1/models/digits/versions/1/files/model.onnx')).toBe(1);
    // The tfjs files are not needed, so not downloaded.
    expect(edge.count('/v1/models/digits/versions/1/files/model.json')).toBe(0);
    await api.dispose();

    const tampered = await edgeWithTwins();
    tampered.tampered.set('model.onnx', new Uint8Array([1, 2, 3]));
    const other = await startWorker({ edge: tampered, init: { runtime: 'onnx' } });
    expect(await failure(other.api.load({ v: 1, model: 'digits' }))).toMatchObject({ code: 'DIGEST_MISMATCH' });
    await other.api.dispose();
  });

  it('refuses a version without an ONNX export, and a file ORT cannot parse, with INVALID_MANIFEST', async () => {
    const { api } = await startWorker({ edge: await edgeWithTwins(false), init: { runtime: 'onnx' } });
    const missing = await failure(api.load({ v: 1, model: 'digits' }));
    expect(missing).toMatchObject({ code: 'INVALID_MANIFEST' });
    expect(missing?.message).toContain('role onnx');
    await api.dispose();

    const env = await detectEnv();
    const garbage = new TextEncoder().encode('not an onnx model').buffer;
    const refused = await failure(createOnnxSession(await importOrt('wasm', env), garbage, 'wasm', env));
    expect(refused).toMatchObject({ code: 'INVALID_MANIFEST' });
  });

  it('refuses train with BACKEND_UNAVAILABLE (ONNX Runtime only predicts) and explains by occlusion', async () => {
    // Train reads the replay and held-out sets before it touches the model: publish both.
    const sets = (['replay', 'holdout'] as const).map((role) => ({
      path: `${role}.bin`,
      role,
      bytes: readRepoFile(`models/digits/artifacts/${role}.bin`),
    }));
    const { api } = await startWorker({ edge: await edgeWithTwins(true, sets), init: { runtime: 'onnx' } });
    await api.load({ v: 1, model: 'digits' });
    const { predictionId } = await api.predict(pixels(3));
    await api.feedback(predictionId, 4);
    const refused = await failure(api.train({ v: 1, epochs: 1 }));
    expect(refused).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(refused?.message).toContain("runtime 'tfjs'");
    // Occlusion needs only predictions: it runs on the session; gradients it has none of.
    const explained = await api.explain(pixels(3));
    expect(explained).toMatchObject({ method: 'occlusion', backend: 'onnx-wasm' });
    expect(explained.attributions).toHaveLength(784);
    expect(explained.attributions.some((a) => a !== 0)).toBe(true);
    const unexplained = await failure(api.explain(pixels(3), { v: 1, method: 'integrated-gradients' }));
    expect(unexplained).toMatchObject({ code: 'UNSUPPORTED_MODEL' });
    // The session still serves after the refusal.
    expect((await api.predict(pixels(3))).backend).toBe('onnx-wasm');
    await api.dispose();
  });

  it('says when WebGPU was available but ORT could not use it and wasm ran instead', async () => {
    const edge = await edgeWithTwins();
    const auto = await startWorker({
      edge,
      backend: 'auto',
      init: { runtime: 'onnx' },
      deps: { detectEnv: withAdapter },
    });
    const loaded = await auto.api.load({ v: 1, model: 'digits' });
    expect(loaded.backend).toMatchObject({ backend: 'onnx-wasm', adapter: { architecture: 'swiftshader' } });
    expect(loaded.backend.skipped['onnx-webgpu']).toMatch(/^failed: .*webgpu/);
    expect(loaded.backend.warmupMs['onnx-webgpu']).toBeUndefined();
    await auto.api.dispose();
  });

  it('uses WebGPU when asked for explicitly or fails with BACKEND_UNAVAILABLE, never falling back', async () => {
    const edge = await edgeWithTwins();
    // init checks an explicit backend on tfjs's registry; a stand-in lets it pass in Node.
    const backends = () =>
      new BackendRegistry().register({
        name: 'webgpu',
        priority: 3,
        isAvailable: () => ({ ok: true }),
        setup: async () => undefined,
      });
    const noAdapter = await startWorker({ edge, backend: 'webgpu', init: { runtime: 'onnx' }, deps: { backends } });
    const unavailable = await failure(noAdapter.api.load({ v: 1, model: 'digits' }));
    expect(unavailable).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(unavailable?.message).toContain('onnx-webgpu: navigator.gpu is missing');
    // Refused before anything was downloaded.
    expect(edge.count('/v1/models/digits/versions/1/files/model.onnx')).toBe(0);
    await noAdapter.api.dispose();

    const adapter = await startWorker({
      edge,
      backend: 'webgpu',
      init: { runtime: 'onnx' },
      deps: { backends, detectEnv: withAdapter },
    });
    const failed = await failure(adapter.api.load({ v: 1, model: 'digits' }));
    expect(failed).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(failed?.message).toContain('webgpu');
    await expect(failure(adapter.api.predict(pixels()))).resolves.toMatchObject({ code: 'MODEL_NOT_LOADED' });
    await adapter.api.dispose();
  });
});

describe('ortError', () => {
  it("maps ORT's messages to stable codes once", () => {
    const code = (message: string) => ortError('ctx', new Error(message), 'https://app.test/assets/worker.js').code;
    expect(code('no available backend found. ERR: [webgpu] backend not found.')).toBe('BACKEND_UNAVAILABLE');
    expect(code("Can't create a session. ERROR_CODE: 7, ERROR_MESSAGE: protobuf parsing failed.")).toBe(
      'INVALID_MANIFEST',
    );
    expect(code("Can't create a session. ERROR_CODE: 9, ERROR_MESSAGE: Could not find an implementation")).toBe(
      'UNSUPPORTED_MODEL',
    );
    expect(code('failed to call OrtRun(). ERROR_CODE: 2, ERROR_MESSAGE: Got invalid dimensions')).toBe('INVALID_INPUT');
    expect(code('something else')).toBe('INTERNAL');
    const fetch = ortError(
      'import',
      new TypeError('Failed to fetch dynamically imported module'),
      'https://app.test/w.js',
    );
    expect(fetch).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(fetch.message).toContain('https://app.test/ort/');
  });
});
