import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { exportOnnx } from '../../models/onnx/export.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { parseModelJson } from '../../protocol/model-json.ts';
import { DENSE_WEIGHTS, denseFiles, denseManifest, savedFiles } from './dense-model.ts';
import { ADMIN_KEY, api, publish, sendJson } from './helpers.ts';

// The same version answered by its tfjs files (API Worker) and by its ONNX export (exported
// here with models/onnx, run by the ORT Worker through the service binding), and explained:
// integrated gradients on tfjs, occlusion on ONNX.

type Output = { name: string; shape: number[]; datatype: string; data: number[] };
type Answer = { model_version: string; parameters?: Record<string, unknown>; outputs: Output[] };

const DENSE = DENSE_WEIGHTS;

/** A small seeded CNN on 8×8 images: conv, pool, flatten, dense softmax over 3 classes. */
async function cnnFiles(): Promise<Record<string, Uint8Array>> {
  await tf.setBackend('cpu');
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  return savedFiles(
    tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [8, 8, 1],
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: init(1),
          biasInitializer: tfl.initializers.constant({ value: 0.1 }),
        }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
      ],
    }),
  );
}

const cnnManifest = (name: string): Manifest => ({
  ...denseManifest(name),
  inputs: [{ name: 'image', dtype: 'float32', shape: [-1, 8, 8, 1] }],
  outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, 3] }],
});

/** Publishes `files` plus their ONNX export (role `onnx`) as version 1 of `name`. */
async function publishWithOnnx(name: string, files: Record<string, Uint8Array>, manifest: Manifest) {
  const modelJson = parseModelJson((files['model.json'] as Uint8Array).slice().buffer, 'model.json');
  const onnx = exportOnnx(modelJson, [(files['weights.bin'] as Uint8Array).slice().buffer], {
    inputName: manifest.inputs[0]?.name ?? '',
    outputName: manifest.outputs[0]?.name ?? '',
  });
  const res = await publish(
    name,
    { ...files, 'model.onnx': onnx },
    { ...manifest, files: [...manifest.files, { path: 'model.onnx', role: 'onnx' }] },
  );
  expect(res.status, await res.clone().text()).toBe(201);
}

async function infer(model: string, input: { name: string; shape: number[]; data: number[] }, parameters = {}) {
  const res = await sendJson(
    'POST',
    `/v2/models/${model}/versions/1/infer`,
    { parameters, inputs: [{ ...input, datatype: 'FP32' }] },
    ADMIN_KEY,
  );
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as Answer;
}

const output = (answer: Answer, name: string): Output => {
  const found = answer.outputs.find((o) => o.name === name);
  if (!found) throw new Error(`no output ${name} in ${JSON.stringify(answer.outputs.map((o) => o.name))}`);
  return found;
};

const maxDiff = (a: number[], b: number[]) => {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - (b[i] ?? Number.NaN))));
};

/** Seeded values in [0, 1). */
const seeded = (n: number, seed: number) => Array.from(tf.randomUniform([n], 0, 1, 'float32', seed).dataSync());

beforeAll(async () => {
  await publishWithOnnx('onnx-dense', await denseFiles(DENSE), denseManifest('onnx-dense'));
  await publishWithOnnx('onnx-cnn', await cnnFiles(), cnnManifest('onnx-cnn'));
  const plain = await publish('onnx-none', await denseFiles(DENSE), denseManifest('onnx-none'));
  expect(plain.status).toBe(201);
});

describe('OIP v2 infer on tfjs and on the ONNX export', () => {
  it('gives the same answers for the same model on both runtimes', async () => {
    const image = { name: 'image', shape: [5, 8, 8, 1], data: seeded(5 * 64, 7) };
    const tfjs = await infer('onnx-cnn', image);
    const onnx = await infer('onnx-cnn', image, { runtime: 'onnx' });
    const [a, b] = [output(tfjs, 'probs'), output(onnx, 'probs')];
    expect(b.shape).toEqual([5, 3]);
    expect(maxDiff(a.data, b.data)).toBeLessThanOrEqual(1e-5);
    const x = { name: 'x', shape: [2, 3], data: [1, 2, 3, -0.5, 0, 4] };
    const dense = await infer('onnx-dense', x, { runtime: 'onnx' });
    expect(maxDiff(output(dense, 'y').data, [4.5, 0.5, 4, -4.5])).toBeLessThanOrEqual(1e-5);
  });

  it('refuses the onnx runtime for a version without an export, and unknown runtimes', async () => {
    const body = (parameters: unknown) => ({
      parameters,
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
    });
    const none = await sendJson('POST', '/v2/models/onnx-none/versions/1/infer', body({ runtime: 'onnx' }), ADMIN_KEY);
    expect(none.status).toBe(400);
    expect(none.headers.get('edgeloop-error-code')).toBe('UNSUPPORTED_MODEL');
    expect(((await none.json()) as { error: string }).error).toContain('--onnx');
    const bad = await sendJson('POST', '/v2/models/onnx-dense/versions/1/infer', body({ runtime: 'tf' }), ADMIN_KEY);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('edgeloop-error-code')).toBe('INVALID_BODY');
    const steps = await sendJson(
      'POST',
      '/v2/models/onnx-dense/versions/1/infer',
      body({ explain: true, explain_steps: 0 }),
      ADMIN_KEY,
    );
    expect(steps.status).toBe(400);
    const many = {
      parameters: { explain: true },
      inputs: [{ name: 'x', shape: [17, 3], datatype: 'FP32', data: new Array(51).fill(1) }],
    };
    const tooMany = await sendJson('POST', '/v2/models/onnx-dense/versions/1/infer', many, ADMIN_KEY);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { error: string }).error).toContain('at most 16');
  });
});

describe('OIP v2 explanations', () => {
  it('attributes x_i·w_i,t on a linear model, by integrated gradients (tfjs) and by occlusion (ONNX)', async () => {
    const x = { name: 'x', shape: [2, 3], data: [1, 2, 3, 0, 0.3, 0.2] };
    const want = (row: number[], t: number) => row.map((xi, i) => xi * (DENSE.kernel[i]?.[t] ?? Number.NaN));
    for (const runtime of ['tfjs', 'onnx'] as const) {
      const answer = await infer('onnx-dense', x, { runtime, explain: true });
      expect(answer.parameters?.explain_method).toBe(runtime === 'tfjs' ? 'integrated-gradients' : 'occlusion');
      const attributions = output(answer, 'attributions');
      expect(attributions).toMatchObject({ datatype: 'FP32', shape: [2, 3] });
      const targets = output(answer, 'attribution_target');
      expect(targets).toMatchObject({ datatype: 'INT32', shape: [2] });
      const y = output(answer, 'y').data;
      const top = (r: number) => ((y[2 * r] ?? 0) >= (y[2 * r + 1] ?? 0) ? 0 : 1);
      expect(targets.data).toEqual([top(0), top(1)]);
      const expected = [...want([1, 2, 3], top(0)), ...want([0, 0.3, 0.2], top(1))];
      expect(maxDiff(attributions.data, expected), runtime).toBeLessThanOrEqual(1e-4);
    }
  });

  it('integrated gradients are complete on a CNN: attributions sum to f(x)_t − f(0)_t within 1%', async () => {
    const n = 3;
    const image = { name: 'image', shape: [n, 8, 8, 1], data: seeded(n * 64, 11) };
    const answer = await infer('onnx-cnn', image, { explain: true, explain_steps: 128 });
    expect(answer.parameters?.explain_steps).toBe(128);
    const zeros = await infer('onnx-cnn', { ...image, data: new Array(n * 64).fill(0) });
    const [probs, base] = [output(answer, 'probs').data, output(zeros, 'probs').data];
    const attributions = output(answer, 'attributions').data;
    const targets = output(answer, 'attribution_target').data;
    for (let r = 0; r < n; r++) {
      const t = targets[r] ?? -1;
      const delta = (probs[3 * r + t] ?? Number.NaN) - (base[3 * r + t] ?? Number.NaN);
      const sum = attributions.slice(64 * r, 64 * (r + 1)).reduce((s, a) => s + a, 0);
      expect(Math.abs(delta), 'the example must move the score for the check to mean anything').toBeGreaterThan(1e-3);
      expect(Math.abs(sum - delta), `example ${r}`).toBeLessThanOrEqual(0.01 * Math.abs(delta));
    }
    const onnx = await infer('onnx-cnn', image, { runtime: 'onnx', explain: true });
    expect(output(onnx, 'attributions').shape).toEqual([n, 8, 8, 1]);
    expect(output(onnx, 'attribution_target').data).toEqual(targets);
  });
});

describe('OIP v2 inference metrics', () => {
  it('counts answers by model, version, runtime and status, with latency histograms and cache lookups', async () => {
    const x = { name: 'x', shape: [1, 3], data: [1, 2, 3] };
    const bad = {
      parameters: { runtime: 'onnx' },
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }],
    };
    await infer('onnx-dense', x);
    await infer('onnx-dense', x, { runtime: 'onnx' });
    expect((await sendJson('POST', '/v2/models/onnx-dense/versions/1/infer', bad, ADMIN_KEY)).status).toBe(400);
    const metrics = async () => (await api('/metrics', { key: ADMIN_KEY })).text();
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
    };
    const ok = (runtime: string) =>
      `edgeloop_inference_request_total{model="onnx-dense",version="1",runtime="${runtime}",status="200"}`;
    await vi.waitFor(async () => {
      const text = await metrics();
      expect(value(text, ok('tfjs'))).toBeGreaterThanOrEqual(1);
      expect(value(text, ok('onnx'))).toBeGreaterThanOrEqual(1);
      expect(
        value(text, 'edgeloop_inference_request_total{model="onnx-dense",version="1",runtime="onnx",status="400"}'),
      ).toBe(1);
    });
    const text = await metrics();
    for (const runtime of ['tfjs', 'onnx']) {
      const labels = `model="onnx-dense",version="1",runtime="${runtime}"`;
      for (const kind of ['queue', 'compute']) {
        const count = value(text, `edgeloop_inference_${kind}_duration_ms_count{${labels}}`);
        expect(count, `${kind} ${runtime}`).toBe(value(text, ok(runtime)));
        expect(value(text, `edgeloop_inference_${kind}_duration_ms_bucket{${labels},le="+Inf"}`)).toBe(count);
      }
    }
    const hits = value(text, 'edgeloop_inference_cache_total{model="onnx-dense",version="1",result="hit"}');
    const misses = value(text, 'edgeloop_inference_cache_total{model="onnx-dense",version="1",result="miss"}');
    expect(hits + misses).toBeGreaterThanOrEqual(3);
    expect(hits).toBeGreaterThanOrEqual(1);
  });
});
