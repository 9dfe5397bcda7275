import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-web';
import * as v from 'valibot';
import { directionOnnx, livenessGraph, mobilenetLayers, type RealModel } from '../models/samples/real-models.ts';
import { E2E_URL } from '../playwright.config.ts';
import { Manifest } from '../protocol/manifest.ts';
import { parseModelJson, weightPaths } from '../protocol/model-json.ts';
import { type DriftReport, extractFeatures, type ProfileRow } from '../protocol/profile/index.ts';
import { seededRandom } from '../protocol/random.ts';
import { openApp } from './fixtures/app.ts';
import { cli } from './fixtures/cli.ts';
import { adminKey, waitForDemoModel } from './fixtures/edge.ts';

// Bring your own model: real pretrained models from npm packages, each taken from its folder
// through `edgeloop init` and `edgeloop publish` as a user would, then run in the browser by the
// SDK and served by /v2, both compared with the format's own runtime called directly in Node,
// explained, and watched for drift.

ort.env.wasm.numThreads = 1;
tf.enableProdMode();

type Output = { name: string; datatype: string; shape: number[]; data: number[] };
type Answer = { outputs?: Output[]; error?: string; parameters?: Record<string, unknown> };

async function infer(model: string, body: unknown): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${E2E_URL}/v2/models/${model}/versions/1/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey()}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

/** The format's own runtime in Node, on the folder's files: the first output's values. */
async function reference(
  real: RealModel,
  manifest: Manifest,
  shape: number[],
  data: Float32Array,
): Promise<Float32Array> {
  const model = manifest.files.find((f) => f.role === 'model')?.path ?? '';
  const bytes = readFileSync(join(real.dir, model));
  if (real.format === 'onnx') {
    const session = await ort.InferenceSession.create(new Uint8Array(bytes));
    const name = manifest.inputs[0]?.name ?? '';
    const out = await session.run({ [name]: new ort.Tensor('float32', data, shape) });
    return out[manifest.outputs[0]?.name ?? '']?.data as Float32Array;
  }
  await tf.setBackend('cpu');
  const json = parseModelJson(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), model);
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
    weightData: weightPaths(json, model).map((p) => new Uint8Array(readFileSync(join(real.dir, p))).buffer),
  });
  const x = tf.tensor(data, shape);
  try {
    if (real.format === 'tfjs-layers') {
      const layers = await loadLayersModel(handler);
      return (await (layers.predict(x) as tf.Tensor).data()) as Float32Array;
    }
    const graph = await loadGraphModel(handler);
    return (await (graph.execute({ [manifest.inputs[0]?.name ?? '']: x }) as tf.Tensor).data()) as Float32Array;
  } finally {
    x.dispose();
  }
}

/** Each model, the batch sent, extra publish flags, and how /v2 answers `explain` for one example: its method, or refused for its cost. */
const cases: [string, () => RealModel, number[], string[], string][] = [
  ['a tfjs graph model (@vladmandic/human liveness)', livenessGraph, [2, 32, 32, 3], [], 'occlusion'],
  [
    'a tfjs layers MobileNetV2 with merges and uint8 weights (nsfwjs)',
    mobilenetLayers,
    [1, 224, 224, 3],
    ['--onnx'],
    'TOO_COSTLY',
  ],
  ['an ONNX model exported from Paddle (PaddleOCR direction)', directionOnnx, [2, 3, 48, 192], [], 'occlusion'],
];

/** `count` seeded random examples of `shape` (batch first), flat. */
function examples(shape: number[], seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random());
}

/** The manifest's drift features of each example of `data` (batch first): `--reference` rows. */
function featureRows(manifest: Manifest, data: Float32Array, count: number): ProfileRow[] {
  const size = data.length / count;
  return Array.from({ length: count }, (_, i) => extractFeatures(manifest, data.slice(i * size, (i + 1) * size)));
}

/**
 * The SDK in the demo app's page, on `?model=`'s version and `backend`: predicts each example
 * (nested arrays of the example's shape, by input name), then syncs; the first outputs, flat.
 */
async function browserPredicts(page: Page, model: string, name: string, shape: number[], data: Float32Array) {
  await openApp(page, { model, backend: 'wasm' });
  return page.evaluate(
    async ({ name, shape, values }) => {
      const nest = (flat: number[], dims: number[]): unknown =>
        dims.length <= 1
          ? flat
          : Array.from({ length: dims[0] ?? 0 }, (_, i) => {
              const size = flat.length / (dims[0] ?? 1);
              return nest(flat.slice(i * size, (i + 1) * size), dims.slice(1));
            });
      const { client } = window.edgeloop;
      const count = shape[0] ?? 1;
      const size = values.length / count;
      const results = [];
      const example = (i: number) => nest(values.slice(i * size, (i + 1) * size), shape.slice(1)) as number[];
      for (let i = 0; i < count; i++) results.push(await client.predict({ [name]: example(i) }));
      const synced = await client.sync();
      // Explained on the device within a 1 s budget: it runs, or is refused up front with its estimate.
      const explained = await client.explain(example(0), { budgetMs: 1_000 }).then(
        (r) => ({
          method: r.method,
          attributions: r.attributions.length,
          finite: r.attributions.every(Number.isFinite),
        }),
        (e: { code?: string; message?: string }) => ({ code: e.code, message: e.message }),
      );
      return { results, synced, explained, backend: (await client.status()).backend };
    },
    { name, shape, values: Array.from(data) },
  );
}

for (const [what, make, shape, publishFlags, explained] of cases) {
  test(`${what}: init, publish, browser predict and /v2 infer equal to its own runtime in Node, explain or refuse its cost, drift`, async ({
    page,
  }) => {
    test.setTimeout(300_000);
    await waitForDemoModel();
    const real = make();
    try {
      const init = await cli(['init', real.dir, '--model', real.model]);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toContain(`wrote ${join(real.dir, 'manifest.json')}`);
      const manifest = v.parse(Manifest, JSON.parse(readFileSync(join(real.dir, 'manifest.json'), 'utf8')));
      expect(manifest.format).toBe(real.format);
      expect(manifest.features.features.length).toBeGreaterThan(0);
      // The reference drift is judged against: the manifest's own features of 40 examples.
      const rowsFile = join(real.dir, '..', 'reference-rows.json');
      const referenceShape = [40, ...shape.slice(1)];
      writeFileSync(rowsFile, JSON.stringify(featureRows(manifest, examples(referenceShape, 3), 40)));
      const flags = [...publishFlags, '--reference', rowsFile, '--alias', 'production', '--reason', 'byom'];
      const published = await cli(['publish', real.dir, ...flags]);
      expect(published.code, published.stderr).toBe(0);

      const meta = await fetch(`${E2E_URL}/v2/models/${real.model}/versions/1`, {
        headers: { authorization: `Bearer ${adminKey()}` },
      });
      const platform = {
        'tfjs-graph': 'tensorflowjs_graph',
        'tfjs-layers': 'tensorflowjs_layers',
        onnx: 'onnxruntime_onnx',
      };
      expect(await meta.json()).toMatchObject({ platform: platform[real.format], inputs: [{ datatype: 'FP32' }] });

      const data = examples(shape, 7);
      const input = { name: manifest.inputs[0]?.name, shape, datatype: 'FP32', data: Array.from(data) };
      const answer = await infer(real.model, { inputs: [input] });
      expect(answer.status, answer.body.error).toBe(200);
      const [first] = answer.body.outputs ?? [];
      const want = await reference(real, manifest, shape, data);
      expect(first?.data).toHaveLength(want.length);
      const gap = Math.max(...want.map((w, i) => Math.abs(w - (first?.data[i] ?? Number.NaN))));
      expect(gap).toBeLessThanOrEqual(1e-4);

      // The browser: the same examples through the SDK, one predict each, then synced.
      const browser = await browserPredicts(page, real.model, input.name ?? '', shape, data);
      expect(browser.backend).toBe(real.format === 'onnx' ? 'onnx-wasm' : 'wasm');
      const perExample = want.length / (shape[0] ?? 1);
      for (const [i, result] of browser.results.entries()) {
        expect(result.outputs).toHaveLength(perExample);
        const mine = want.slice(i * perExample, (i + 1) * perExample);
        expect(Math.max(...mine.map((w, j) => Math.abs(w - (result.outputs[j] ?? Number.NaN))))).toBeLessThanOrEqual(
          1e-4,
        );
        expect(Object.keys(result.tensors)).toEqual(manifest.outputs.map((o) => o.name));
      }
      expect(browser.synced).toMatchObject({ pending: 0, rejected: 0, profiles: { rejected: 0 } });
      if (real.format === 'tfjs-layers') {
        // Integrated gradients of a 224×224 MobileNetV2 take far more than 1 s here: refused before running.
        expect(browser.explained).toMatchObject({ code: 'TOO_COSTLY' });
        expect((browser.explained as { message: string }).message).toMatch(
          /explain would take about [\d.]+ s \(207 passes/,
        );
      } else {
        expect(browser.explained).toEqual({
          method: 'occlusion',
          attributions: data.length / (shape[0] ?? 1),
          finite: true,
        });
      }

      // Drift: the browser's profiles reached the edge, judged on the manifest's features.
      const drift = await fetch(`${E2E_URL}/v1/models/${real.model}/versions/1/drift`, {
        headers: { authorization: `Bearer ${adminKey()}` },
      });
      expect(drift.status).toBe(200);
      const report = (await drift.json()) as DriftReport;
      expect(report.reference.count).toBe(40);
      expect(report.features.map((f) => f.name)).toEqual(manifest.features.features.map((f) => f.name));
      // The browser's examples as a client's rows; the /v2 batch as rows no client token proves.
      expect(report.basis?.rows).toBe(shape[0]);
      expect(report.basis?.heldBack.unverified.rows).toBe(shape[0]);

      const one = { ...input, shape: [1, ...shape.slice(1)], data: input.data.slice(0, data.length / (shape[0] ?? 1)) };
      const explanation = await infer(real.model, { parameters: { explain: true }, inputs: [one] });
      if (explained === 'TOO_COSTLY') {
        // Refused before anything runs, with the estimate and how to fit.
        expect(explanation.status).toBe(422);
        expect(explanation.body.error).toMatch(/costs [\d.]+ G work units .* at most 1 G/);
      } else {
        expect(explanation.status, explanation.body.error).toBe(200);
        expect(explanation.body).toMatchObject({ parameters: { explain_method: explained } });
        const attributions = explanation.body.outputs?.find((o) => o.name === 'attributions');
        expect(attributions?.shape).toEqual(one.shape);
      }

      if (publishFlags.includes('--onnx')) {
        // The version's own ONNX export, run by ORT at the edge, answers as its tfjs model does.
        const viaOnnx = await infer(real.model, { parameters: { runtime: 'onnx' }, inputs: [input] });
        expect(viaOnnx.status, viaOnnx.body.error).toBe(200);
        const onnxFirst = viaOnnx.body.outputs?.[0]?.data ?? [];
        expect(Math.max(...want.map((w, i) => Math.abs(w - (onnxFirst[i] ?? Number.NaN))))).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      rmSync(join(real.dir, '..'), { recursive: true, force: true });
    }
  });
}
