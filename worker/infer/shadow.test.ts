import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { graphManifest, graphModelFiles } from '../../models/samples/graph-model.ts';
import type { PredictionEvent } from '../../protocol/events.ts';
import type { FakeFile } from '../test/fake-edge.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, startWorker } from '../test/harness.ts';
import { tinyModelFiles } from '../test/tiny-model.ts';
import { withOnnxExport } from '../test/tiny-onnx.ts';
import { countShadow, runShadow, type ShadowModel } from './shadow.ts';

const INPUTS = Array.from({ length: 12 }, (_, i) => pixels(i * 5));

/**
 * digits v1 (alias production, shadow v2) and v2 with other (seeded) weights; alias `only2` serves
 * v2 alone and `plain` v1 alone, as references for what the shadow and the main model answer.
 */
async function edgeWithShadow(): Promise<FakeEdge> {
  const edge = new FakeEdge();
  await tf.setBackend('cpu');
  // Seeded weights: two random models may agree on every input, and the test needs a disagreement.
  await edge.publish('digits', 1, await tinyModelFiles([28, 28, 1], 1));
  await edge.publish('digits', 2, await tinyModelFiles([28, 28, 1], 2));
  edge.aliases.set('digits/production', 1);
  edge.aliases.set('digits/plain', 1);
  edge.aliases.set('digits/only2', 2);
  edge.shadows.set('digits/production', 2);
  return edge;
}

async function labelsOf(edge: FakeEdge, alias: string) {
  const { api } = await startWorker({ edge });
  await api.load({ v: 1, model: 'digits', alias });
  const results = [];
  for (const input of INPUTS) results.push(await api.predict(input));
  await api.dispose();
  return results;
}

describe('shadow', () => {
  it('runs the shadow beside the served model, recording its label and agreement without changing results', async () => {
    const edge = await edgeWithShadow();
    const plain = await labelsOf(edge, 'plain');
    const shadowRef = await labelsOf(edge, 'only2');
    const { api, db } = await startWorker({ edge });

    const load = await api.load({ v: 1, model: 'digits' });
    expect(load).toMatchObject({ version: 1, shadow: { version: 2, loaded: true } });
    expect(load.shadow?.reason).toBeUndefined();
    const results = [];
    for (const input of INPUTS) results.push(await api.predict(input));

    // What the caller gets is exactly what v1 alone answers.
    results.forEach((r, i) => {
      expect(r.outputs).toEqual(plain[i]?.outputs);
      expect(r).toMatchObject({ model: 'digits', version: 1, label: plain[i]?.label, backend: 'cpu' });
      expect(Object.keys(r).sort()).toEqual(Object.keys(plain[i] ?? {}).sort());
    });
    const expected = results.map((r, i) => ({
      version: 2,
      label: shadowRef[i]?.label,
      agree: r.label === shadowRef[i]?.label,
    }));
    const outbox = await db().outbox.orderBy('seq').toArray();
    expect(outbox.map((row) => (row.event as PredictionEvent).shadow)).toEqual(expected);
    const rows = await Promise.all(results.map((r) => db().predictions.get(r.predictionId)));
    expect(rows.map((row) => row?.shadow)).toEqual(expected);
    expect(expected.some((s) => !s.agree)).toBe(true);

    const agreements = expected.filter((s) => s.agree).length;
    expect((await api.status()).shadow).toEqual({ version: 2, predictions: INPUTS.length, agreements });
    // The edge's event schema takes the field (the fake edge validates with it).
    expect(await api.sync()).toMatchObject({ accepted: INPUTS.length, rejected: 0 });
    expect([...edge.events.values()].map((e) => (e as PredictionEvent).shadow)).toEqual(expected);
    await api.dispose();
  });

  it('caches the shadow files by digest and counts agreement of an identical version as total', async () => {
    const edge = await edgeWithShadow();
    // v3: byte-for-byte the files of v1, so the shadow always agrees.
    const v1 = edge.versions.get('digits/1');
    await edge.publish(
      'digits',
      3,
      (v1?.manifest.files ?? []).map((f) => ({
        ...f,
        bytes: edge.bytes.get(`digits/1/${f.path}`) ?? new Uint8Array(),
      })),
    );
    edge.aliases.set('digits/production', 1);
    edge.shadows.set('digits/production', 3);
    const { api, db } = await startWorker({ edge });

    await api.load({ v: 1, model: 'digits' });
    for (const input of INPUTS.slice(0, 4)) await api.predict(input);
    expect((await api.status()).shadow).toEqual({ version: 3, predictions: 4, agreements: 4 });
    // Same digests as v1: already cached by the main load, so v3's files were never downloaded.
    expect(edge.count('/v1/models/digits/versions/3/files/')).toBe(0);

    edge.shadows.set('digits/production', 2);
    await api.load({ v: 1, model: 'digits' });
    await api.load({ v: 1, model: 'digits' });
    expect(edge.count('/v1/models/digits/versions/2/files/')).toBe(2);
    const cached = (await db().files.toArray()).map((f) => f.sha256).sort();
    expect(cached).toEqual(expect.arrayContaining((edge.versions.get('digits/2')?.files ?? []).map((f) => f.sha256)));
    // Counts start again with each load.
    expect((await api.status()).shadow).toEqual({ version: 2, predictions: 0, agreements: 0 });
    await api.dispose();
  });

  it('reports a shadow whose files fail verification or are missing, and serves without it', async () => {
    const edge = await edgeWithShadow();
    const evil = (edge.bytes.get('digits/2/weights.bin') ?? new Uint8Array()).slice();
    evil[0] = (evil[0] ?? 0) ^ 0xff;
    edge.tampered.set('digits/2/weights.bin', evil);
    const { api, db } = await startWorker({ edge });

    const tampered = await api.load({ v: 1, model: 'digits' });
    expect(tampered).toMatchObject({ version: 1, shadow: { version: 2, loaded: false } });
    expect(tampered.shadow?.reason).toMatch(/^\[DIGEST_MISMATCH\] digits v2 weights\.bin/);
    const result = await api.predict(pixels(1));
    expect(result).toMatchObject({ version: 1 });
    expect((await db().outbox.toArray()).map((row) => 'shadow' in row.event)).toEqual([false]);
    expect((await db().predictions.get(result.predictionId))?.shadow).toBeUndefined();
    expect((await api.status()).shadow).toBeUndefined();

    edge.tampered.clear();
    edge.bytes.delete('digits/2/weights.bin');
    const missing = await api.load({ v: 1, model: 'digits' });
    expect(missing.shadow).toMatchObject({ version: 2, loaded: false });
    expect(missing.shadow?.reason).toMatch(/EDGE_ERROR.*FILE_NOT_FOUND/);

    edge.shadows.set('digits/production', 9);
    const unknown = await api.load({ v: 1, model: 'digits' });
    expect(unknown.shadow?.reason).toMatch(/EDGE_ERROR.*VERSION_NOT_FOUND/);

    // A shadow that reads other inputs could not be compared: refused, and its weights freed.
    await edge.publish('digits', 4, await tinyModelFiles([14, 14, 1]));
    edge.aliases.set('digits/production', 1);
    edge.shadows.set('digits/production', 4);
    const tensors = tf.memory().numTensors;
    const misfit = await api.load({ v: 1, model: 'digits' });
    expect(misfit.shadow?.reason).toMatch(
      /^\[INVALID_MANIFEST\] shadow v4 takes \[14,14,1\] → 10 classes; v1 takes \[28,28,1\]/,
    );
    expect(tf.memory().numTensors).toBe(tensors);
    expect((await api.predict(pixels(2))).version).toBe(1);
    await api.dispose();
  });

  it('disposes the shadow when a later load has none, and leaks no tensors', async () => {
    const edge = await edgeWithShadow();
    const before = tf.memory().numTensors;
    const { api } = await startWorker({ edge });

    await api.load({ v: 1, model: 'digits' });
    const withShadow = tf.memory().numTensors;
    for (const input of INPUTS) await api.predict(input);
    expect(tf.memory().numTensors).toBe(withShadow);

    edge.shadows.delete('digits/production');
    const load = await api.load({ v: 1, model: 'digits' });
    expect(load.shadow).toBeUndefined();
    expect((await api.status()).shadow).toBeUndefined();
    const mainOnly = tf.memory().numTensors;
    // The shadow's weights (dense kernel and bias) are gone.
    expect(withShadow - mainOnly).toBe(2);
    expect((await api.predict(pixels())).version).toBe(1);
    expect(tf.memory().numTensors).toBe(mainOnly);

    edge.shadows.set('digits/production', 2);
    await api.load({ v: 1, model: 'digits' });
    expect(tf.memory().numTensors).toBe(withShadow);

    // A main load that fails keeps the model and the shadow that were serving.
    edge.shadows.delete('digits/production');
    edge.aliases.set('digits/production', 9);
    await expect(api.load({ v: 1, model: 'digits' })).rejects.toMatchObject({
      code: 'EDGE_ERROR',
      message: expect.stringMatching(/VERSION_NOT_FOUND/),
    });
    expect((await api.status()).shadow).toEqual({ version: 2, predictions: 0, agreements: 0 });
    await api.predict(pixels());
    expect((await api.status()).shadow).toMatchObject({ predictions: 1 });

    await api.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves a predict alone when the shadow fails to run', async () => {
    const broken: ShadowModel = {
      version: 2,
      model: {
        predict: () => {
          throw new Error('shader lost');
        },
      } as unknown as ShadowModel['model'],
      inputShape: [28, 28, 1],
      signature: {
        inputs: [{ name: 'image', dtype: 'float32', shape: [-1, 28, 28, 1] }],
        outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 10] }],
      },
      predictions: 0,
      agreements: 0,
    };
    const outcome = await runShadow(broken, [{ shape: [1, 28, 28, 1], data: pixels() }], 3);
    expect(outcome).toBeUndefined();
    countShadow(broken, outcome);
    expect(broken).toMatchObject({ predictions: 0, agreements: 0 });
  });

  describe('of another format', () => {
    /** The tiny model (seed 7) as tfjs layers files, and the same weights as an ONNX version's model. */
    async function twins(): Promise<{ layers: FakeFile[]; onnx: FakeFile[] }> {
      await tf.setBackend('cpu');
      const layers = await tinyModelFiles([28, 28, 1], 7);
      const exported = withOnnxExport(layers).find((f) => f.role === 'onnx') as FakeFile;
      return { layers, onnx: [{ ...exported, role: 'model' }] };
    }

    type Input = Parameters<Awaited<ReturnType<typeof startWorker>>['api']['predict']>[0];

    /** Loads `model` (its production alias, with its shadow) on a fresh worker and predicts `inputs`. */
    async function agreement(edge: FakeEdge, model: string, inputs: Input[]) {
      const { api } = await startWorker({ edge, backend: 'auto' });
      const load = await api.load({ v: 1, model });
      for (const input of inputs) await api.predict(input);
      const status = await api.status();
      await api.dispose();
      return { load, status };
    }

    it('runs an ONNX shadow on ONNX Runtime beside a tfjs-layers model: the same weights agree on every input', async () => {
      const { layers, onnx } = await twins();
      const edge = new FakeEdge();
      await edge.publish('digits', 1, layers);
      await edge.publish('digits', 2, onnx, { format: 'onnx' });
      edge.aliases.set('digits/production', 1);
      edge.shadows.set('digits/production', 2);
      const { load, status } = await agreement(edge, 'digits', INPUTS);
      expect(load).toMatchObject({ version: 1, shadow: { version: 2, loaded: true } });
      expect(status.shadow).toEqual({ version: 2, predictions: INPUTS.length, agreements: INPUTS.length });
    });

    it('runs a tfjs-layers shadow beside an ONNX model, starting a tfjs backend for it', async () => {
      const { layers, onnx } = await twins();
      const edge = new FakeEdge();
      await edge.publish('digits', 1, onnx, { format: 'onnx' });
      await edge.publish('digits', 2, layers);
      edge.aliases.set('digits/production', 1);
      edge.shadows.set('digits/production', 2);
      const { load, status } = await agreement(edge, 'digits', INPUTS);
      expect(load.backend.backend).toBe('onnx-wasm');
      expect(load.shadow).toEqual({ version: 2, loaded: true });
      expect(status.shadow).toEqual({ version: 2, predictions: INPUTS.length, agreements: INPUTS.length });
    });

    it('runs a tfjs-graph shadow of two inputs beside a graph model, and refuses one that reads other inputs', async () => {
      const files = Object.entries(graphModelFiles()).map(([path, bytes]) => ({
        path,
        role: path === 'model.json' ? 'model' : 'weights',
        bytes,
      })) as FakeFile[];
      const edge = new FakeEdge();
      await edge.publish('g', 1, files, graphManifest('g'));
      await edge.publish('g', 2, files, graphManifest('g'));
      edge.shadows.set('g/production', 2);
      const inputs = [0, 1, 2, 3].map((k) => ({ x: Float32Array.of(k, 1 - k, 0.5, k / 2), ids: Int32Array.of(k) }));
      const { load, status } = await agreement(edge, 'g', inputs);
      expect(load.shadow).toEqual({ version: 2, loaded: true });
      expect(status.shadow).toEqual({ version: 2, predictions: 4, agreements: 4 });

      const { layers } = await twins();
      await edge.publish('g', 3, layers);
      edge.aliases.set('g/production', 1);
      edge.shadows.set('g/production', 3);
      const misfit = await agreement(edge, 'g', []);
      expect(misfit.load.shadow?.loaded).toBe(false);
      expect(misfit.load.shadow?.reason).toBe(
        '[INVALID_MANIFEST] shadow v3 takes [28,28,1] → 10 classes; v1 takes [4], [] int32 → 3 classes',
      );
    });
  });
});
