import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
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
import { seededRandom } from '../protocol/random.ts';
import { cli } from './fixtures/cli.ts';
import { adminKey, waitForDemoModel } from './fixtures/edge.ts';

// Bring your own model: real pretrained models from npm packages, each taken from its folder
// through `edgeloop init` and `edgeloop publish` as a user would, then served by /v2 and
// compared with the format's own runtime called directly in Node.

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

for (const [what, make, shape, publishFlags, explained] of cases) {
  test(`${what}: init, publish, /v2 infer equal to its own runtime in Node, explain or refuse its cost`, async () => {
    test.setTimeout(240_000);
    await waitForDemoModel();
    const real = make();
    try {
      const init = await cli(['init', real.dir, '--model', real.model]);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toContain(`wrote ${join(real.dir, 'manifest.json')}`);
      const manifest = v.parse(Manifest, JSON.parse(readFileSync(join(real.dir, 'manifest.json'), 'utf8')));
      expect(manifest.format).toBe(real.format);
      const published = await cli(['publish', real.dir, ...publishFlags]);
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

      const random = seededRandom(7);
      const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random());
      const input = { name: manifest.inputs[0]?.name, shape, datatype: 'FP32', data: Array.from(data) };
      const answer = await infer(real.model, { inputs: [input] });
      expect(answer.status, answer.body.error).toBe(200);
      const [first] = answer.body.outputs ?? [];
      const want = await reference(real, manifest, shape, data);
      expect(first?.data).toHaveLength(want.length);
      const gap = Math.max(...want.map((w, i) => Math.abs(w - (first?.data[i] ?? Number.NaN))));
      expect(gap).toBeLessThanOrEqual(1e-4);

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
