import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { ensureDevVars } from '../scripts/lib/dev-vars.ts';
import { type ByomBrowserRow, benchByomBrowser } from './byom-browser.ts';
import { startServer } from './server.ts';

// Bring your own model, timed: real 224 × 224 MobileNetV2s (nsfwjs's layers model, its ONNX
// export, and its graph model) served by the local edge's /v2, one request at a time, against
// the same format's runtime called directly in Node (tfjs-cpu; onnxruntime-web wasm, 1 thread);
// then the same models (the export as a version of format onnx) in Chromium, per backend
// (byom-browser.ts).

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
export async function benchByom(
  url: string,
  adminKey: string,
): Promise<{ edge: ByomRow[]; browser: ByomBrowserRow[] }> {
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
      await edge.setAlias(manifest.name, 'production', version, 'bench');
      if (runtimes.includes('onnx')) await publishOnnxCopy(edge, real.dir, manifest);
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
  const browser = [
    ...(await benchByomBrowser(url, ['bench-mobilenet', 'bench-mobilenet-graph'], SHAPE.slice(1), [
      'cpu',
      'wasm',
      'webgpu',
    ])),
    ...(await benchByomBrowser(url, [ONNX_COPY], SHAPE.slice(1), ['wasm', 'webgpu'])),
  ];
  return { edge: rows, browser };
}

/** The layers model's ONNX export published as a version of format onnx, as a user bringing that file would. */
const ONNX_COPY = 'bench-mobilenet-onnx';

async function publishOnnxCopy(edge: EdgeClient, dir: string, manifest: Manifest): Promise<void> {
  const onnxDir = mkdtempSync(join(tmpdir(), 'bench-onnx-'));
  try {
    writeFileSync(join(onnxDir, 'model.onnx'), await exportDirOnnx(dir, manifest));
    const { manifest: onnxManifest } = await initManifest(onnxDir, { model: ONNX_COPY });
    writeFileSync(join(onnxDir, 'manifest.json'), JSON.stringify(onnxManifest));
    const { version } = await publishDir(edge, onnxDir, () => undefined, {});
    await edge.setAlias(ONNX_COPY, 'production', version, 'bench');
  } finally {
    rmSync(onnxDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `npm run bench:byom`: this part alone, on its own edge.
  const root = fileURLToPath(new URL('..', import.meta.url));
  const keys = ensureDevVars(root);
  const server = await startServer(Number(process.env.BENCH_PORT ?? 8789));
  try {
    const { edge, browser } = await benchByom(server.url, keys.adminKey);
    console.table(edge);
    console.table(browser);
  } finally {
    server.stop();
  }
}
