import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { graphManifest, graphModelFiles, graphOf } from '../../models/samples/graph-model.ts';
import { onnxSampleManifest, onnxSampleModel, onnxSampleOf } from '../../models/samples/onnx-model.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { FileRole, Manifest } from '../../protocol/manifest.ts';
import { FakeEdge, type FakeFile } from '../test/fake-edge.ts';
import { startWorker } from '../test/harness.ts';
import { tinyModelFiles } from '../test/tiny-model.ts';

// Models of every format through the worker's real API: a tfjs graph model and an ONNX model of
// two inputs (float32 x, integer ids) and three outputs each, compared with their hand-computed
// answers; inputs checked against the manifest, outputs and labels by name.

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );

function filesOf(manifest: Manifest, bytes: Record<string, Uint8Array>): FakeFile[] {
  return manifest.files.map((f) => ({ path: f.path, role: f.role as FileRole, bytes: bytes[f.path] as Uint8Array }));
}

async function workerWith(manifest: Manifest, bytes: Record<string, Uint8Array>) {
  const edge = new FakeEdge();
  const labelled = { ...manifest, labels: ['low', 'mid', 'high'] };
  await edge.publish('m', 1, filesOf(labelled, bytes), labelled);
  const worker = await startWorker({ edge, backend: 'cpu' });
  return { ...worker, load: await worker.api.load({ v: 1, model: 'm' }) };
}

const x = [0.5, -1, 2, 0.25];

describe('graph and ONNX models in the worker', () => {
  it('runs a tfjs graph model of two inputs and three outputs, by name, as computed by hand', async () => {
    const { api, load } = await workerWith(graphManifest('m'), graphModelFiles());
    expect(load.backend.backend).toBe('cpu');
    const result = await api.predict({ x: Float32Array.from(x), ids: Int32Array.of(2) });
    const want = graphOf(x, 2);
    expect(result.tensors.top).toEqual({ dtype: 'int32', shape: [], data: [want.top] });
    expect(result.tensors.embedded).toEqual({ dtype: 'float32', shape: [3], data: want.embedded });
    for (const [i, p] of want.probs.entries()) expect(result.tensors.probs?.data[i]).toBeCloseTo(p, 6);
    expect(result.outputs).toEqual(result.tensors.probs?.data);
    expect(result.label).toBe(want.top);
    expect(result.labelName).toBe(['low', 'mid', 'high'][want.top]);
    await api.dispose();
  });

  it('runs an ONNX model (int64 ids in, bool out) on ONNX Runtime, as computed by hand', async () => {
    const { api, load } = await workerWith(onnxSampleManifest('m'), { 'model.onnx': onnxSampleModel() });
    expect(load.backend.backend).toBe('onnx-wasm');
    const result = await api.predict({ x: Float32Array.from(x), ids: BigInt64Array.of(1n) });
    const want = onnxSampleOf(x, 1);
    expect(result.tensors.embedded?.data).toEqual(want.embedded);
    expect(result.tensors.confident).toEqual({ dtype: 'bool', shape: [], data: [want.confident ? 1 : 0] });
    for (const [i, p] of want.probs.entries()) expect(result.outputs[i]).toBeCloseTo(p, 6);
    // Ids may come as any integer typed array: the worker converts them to int64.
    const again = await api.predict({ x: Float32Array.from(x), ids: Int32Array.of(1) });
    expect(again.outputs).toEqual(result.outputs);
    await api.dispose();
  });

  it('profiles each drift feature from the input its source names, as the edge does', async () => {
    const features: Manifest['features'] = {
      features: [
        { name: 'x_mean', kind: 'numeric', source: { stat: 'mean' } },
        { name: 'id', kind: 'numeric', source: { index: 0, input: 'ids' } },
      ],
    };
    const { api, db } = await workerWith({ ...graphManifest('m'), features }, graphModelFiles());
    await api.predict({ x: Float32Array.of(1, 2, 3, 6), ids: Int32Array.of(2) });
    const store = db();
    const [stored] = await store.profiles.toArray();
    store.close();
    expect(stored?.profile.features.id).toMatchObject({ kind: 'numeric', count: 1, missing: 0, min: 2, max: 2 });
    expect(stored?.profile.features.x_mean).toMatchObject({ kind: 'numeric', count: 1, missing: 0, min: 3, max: 3 });
    await api.dispose();
  });

  it('checks inputs against the manifest, naming the input and what is wrong', async () => {
    const { api } = await workerWith(graphManifest('m'), graphModelFiles());
    const ids = Int32Array.of(0);
    const cases: [unknown, RegExp][] = [
      [Float32Array.from(x), /input: the model takes 2 inputs \(x, ids\)/],
      [{ x: Float32Array.from(x) }, /input\.ids: missing/],
      [{ x: Float32Array.from(x), ids, extra: ids }, /input: extra is no input of the model/],
      [{ x: Float32Array.of(1, 2), ids }, /input\.x: expected 4 floats, got 2 \(\[4\] per example\)/],
      [{ x: Float32Array.from(x), ids: Float32Array.of(0.5) }, /input\.ids\[0\]: 0\.5 is not an int32/],
      [{ x: Float32Array.of(1, Number.NaN, 0, 0), ids }, /input\.x\[1\]: NaN is not a finite float32/],
      [{ x: { data: Float32Array.from(x), shape: [2, 2] }, ids }, /input\.x: shape \[2,2\] is not the model's \[4\]/],
      [{ x: 'nope', ids }, /input/],
    ];
    for (const [input, message] of cases) {
      const error = await failure(api.predict(input as Float32Array));
      expect(error?.code, String(message)).toBe('INVALID_INPUT');
      expect(error?.message).toMatch(message);
    }
    await api.dispose();
  });

  it('takes feedback by class name, and refuses what only layers models do', async () => {
    const { api } = await workerWith(graphManifest('m'), graphModelFiles());
    const { predictionId } = await api.predict({ x: Float32Array.from(x), ids: Int32Array.of(0) });
    await api.feedback(predictionId, 'high');
    const unknown = await failure(api.feedback(predictionId, 'huge'));
    expect(unknown?.code).toBe('INVALID_INPUT');
    expect(unknown?.message).toContain('its labels are "low", "mid", "high"');
    const status = await api.status();
    expect(status.pending).toBe(2); // the prediction and one label
    const untrained = await failure(api.train({ v: 1 }));
    expect(untrained?.code).toBe('UNSUPPORTED_MODEL');
    expect(untrained?.message).toContain('tfjs-graph');
    const unexplained = await failure(api.explain(new Float32Array(4)));
    expect(unexplained?.code).toBe('INVALID_INPUT');
    expect(unexplained?.message).toContain('m takes 2 inputs; explain takes models of one');
    await api.dispose();
  });

  /** The tiny layers model (10 outputs) published and loaded as `model` with `task`. */
  async function tinyWithTask(model: string, task: 'regression' | 'embedding') {
    await tf.setBackend('cpu');
    const edge = new FakeEdge();
    await edge.publish(model, 1, await tinyModelFiles([28, 28, 1], 3), { task });
    const { api } = await startWorker({ edge, backend: 'cpu' });
    await api.load({ v: 1, model });
    return api;
  }

  it('refuses a round for a regression model, and training one of several outputs', async () => {
    const api = await tinyWithTask('r', 'regression');
    const round = await failure(api.participate({ v: 1 }));
    expect(round?.code).toBe('UNSUPPORTED_MODEL');
    expect(round?.message).toContain('r v1 is a regression model');
    const train = await failure(api.train({ v: 1 }));
    expect(train?.code).toBe('UNSUPPORTED_MODEL');
    expect(train?.message).toContain('r v1 is a regression model of 10 outputs');
    await api.dispose();
  });

  it('refuses to train an embedding model: its feedback has no label', async () => {
    const api = await tinyWithTask('e', 'embedding');
    const train = await failure(api.train({ v: 1 }));
    expect(train?.code).toBe('UNSUPPORTED_MODEL');
    expect(train?.message).toContain('e v1 is an embedding model, whose feedback has none');
    await api.dispose();
  });

  it("records a regression model's true value as its feedback, and refuses a class name", async () => {
    await tf.setBackend('cpu');
    const edge = new FakeEdge();
    await edge.publish('r', 1, await tinyModelFiles([28, 28, 1], 3), { task: 'regression' });
    const { api, db } = await startWorker({ edge, backend: 'cpu' });
    await api.load({ v: 1, model: 'r' });
    const { predictionId } = await api.predict(new Float32Array(784));
    await api.feedback(predictionId, 12.5);
    const named = await failure(api.feedback(predictionId, 'high'));
    expect(named?.code).toBe('INVALID_INPUT');
    expect(named?.message).toContain('r is a regression model: give the true value');
    const store = db();
    const events = (await store.outbox.toArray()).map((row) => row.event);
    expect(events.filter((e) => e.type === 'feedback')).toMatchObject([{ predictionId, value: 12.5 }]);
    expect(events.find((e) => e.type === 'feedback')).not.toHaveProperty('label');
    expect(await store.feedback.toArray()).toMatchObject([{ predictionId, value: 12.5 }]);
    store.close();
    await api.dispose();
  });

  it('refuses feedback labels for an embedding model', async () => {
    const { api } = await workerWith({ ...graphManifest('m'), task: 'embedding' }, graphModelFiles());
    const { predictionId, labelName } = await api.predict({ x: Float32Array.from(x), ids: Int32Array.of(0) });
    expect(labelName).toBeUndefined();
    const refused = await failure(api.feedback(predictionId, 1));
    expect(refused?.code).toBe('INVALID_INPUT');
    expect(refused?.message).toContain('embedding model');
    await api.dispose();
  });
});
