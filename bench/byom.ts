import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-web';
import { EdgeClient } from '../cli/lib/client.ts';
import { initManifest } from '../cli/lib/init/manifest.ts';
import { exportDirOnnx } from '../cli/lib/onnx.ts';
import { publishDir } from '../cli/lib/publish.ts';
import { mobilenetGraph, mobilenetLayers, type RealModel } from '../models/samples/real-models.ts';
import type { Manifest } from '../protocol/manifest.ts';
import { parseModelJson, weightPaths } from '../protocol/model-json.ts';
import { seededRandom } from '../protocol/random.ts';

// Bring your own model, timed: real 224 × 224 MobileNetV2s (nsfwjs's layers model, its ONNX
// export, and its graph model) served by the local edge's /v2, one request at a time, against
// the same format's runtime called directly in Node (tfjs-cpu; onnxruntime-web wasm, 1 thread).

ort.env.wasm.numThreads = 1;
tf.enableProdMode();

const RUNS = 15;
const SHAPE = [1, 224, 224, 3];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function timed(run: () => Promise<unknown>): Promise<number> {
  await run(); // warm: loads the model, compiles what it compiles
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** The format's own runtime on the folder's files, in this process. */
async function directRun(
  real: RealModel,
  manifest: Manifest,
  runtime: 'tfjs' | 'onnx',
  data: Float32Array,
): Promise<() => Promise<unknown>> {
  if (runtime === 'onnx') {
    // The same export `publish --onnx` uploaded.
    const session = await ort.InferenceSession.create(await exportDirOnnx(real.dir, manifest));
    const name = session.inputNames[0] ?? '';
    return () => session.run({ [name]: new ort.Tensor('float32', data, SHAPE) });
  }
  await tf.setBackend('cpu');
  const bytes = readFileSync(join(real.dir, 'model.json'));
  const json = parseModelJson(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), 'model.json');
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
    weightData: weightPaths(json, 'model.json').map((p) => new Uint8Array(readFileSync(join(real.dir, p))).buffer),
  });
  const x = tf.tensor(data, SHAPE);
  if (real.format === 'tfjs-layers') {
    const model = await loadLayersModel(handler);
    return async () => tf.dispose(await (model.predict(x) as tf.Tensor).data());
  }
  const model = await loadGraphModel(handler);
  return async () => (model.execute(x) as tf.Tensor).data();
}

/** One row: the edge's p50 on a runtime, the direct call's, and their ratio. */
export interface ByomRow {
  model: string;
  format: string;
  runtime: 'tfjs' | 'onnx';
  edgeP50Ms: number;
  directP50Ms: number;
  ratio: number;
}

/**
 * Publishes each real model through `edgeloop init` and publish (the layers model with its ONNX
 * export) and times `/v2 … /infer` against the direct call, on the same seeded image.
 *
 * @example
 * const rows = await benchByom('http://127.0.0.1:8789', adminKey);
 */
export async function benchByom(url: string, adminKey: string): Promise<ByomRow[]> {
  const edge = new EdgeClient(url, adminKey);
  const random = seededRandom(11);
  const data = Float32Array.from({ length: SHAPE.reduce((a, b) => a * b, 1) }, () => random());
  const rows: ByomRow[] = [];
  const cases: [() => RealModel, ('tfjs' | 'onnx')[]][] = [
    [mobilenetLayers, ['tfjs', 'onnx']],
    [mobilenetGraph, ['tfjs']],
  ];
  for (const [make, runtimes] of cases) {
    const real = make();
    try {
      const { manifest } = await initManifest(real.dir, { model: `bench-${real.model}` });
      writeFileSync(join(real.dir, 'manifest.json'), JSON.stringify(manifest));
      const { version } = await publishDir(edge, real.dir, () => undefined, { onnx: runtimes.includes('onnx') });
      for (const runtime of runtimes) {
        const body = JSON.stringify({
          parameters: { runtime },
          inputs: [{ name: manifest.inputs[0]?.name, shape: SHAPE, datatype: 'FP32', data: Array.from(data) }],
        });
        const edgeP50Ms = await timed(async () => {
          const res = await fetch(`${url}/v2/models/${manifest.name}/versions/${version}/infer`, {
            method: 'POST',
            headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
            body,
          });
          const text = await res.text();
          if (!res.ok) throw new Error(`${manifest.name} ${runtime}: HTTP ${res.status} ${text.slice(0, 300)}`);
        });
        const directP50Ms = await timed(await directRun(real, manifest, runtime, data));
        rows.push({
          model: real.model,
          format: real.format,
          runtime,
          edgeP50Ms,
          directP50Ms,
          ratio: edgeP50Ms / directP50Ms,
        });
      }
    } finally {
      rmSync(join(real.dir, '..'), { recursive: true, force: true });
    }
  }
  return rows;
}
