// Test helpers: save a tfjs model the way Edgeloop stores it, run its ONNX export in
// onnxruntime-web (wasm, in Node) and measure how far the two disagree.
import '@tensorflow/tfjs-backend-cpu';
import { io, type Tensor, tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-web';
import { type ModelJson, parseModelJson } from '../../protocol/model-json.ts';
import { seededRandom } from '../../protocol/random.ts';
import { exportOnnx, type OnnxExportOptions } from './export.ts';

ort.env.wasm.numThreads = 1;

/** model.json (parsed as the worker/edge parse it) and the weights cut into two shards at an odd byte. */
export async function saveArtifacts(model: LayersModel): Promise<{ modelJson: ModelJson; shards: ArrayBuffer[] }> {
  let saved: { json: string; weights: ArrayBuffer } | undefined;
  await model.save(
    io.withSaveHandler(async (artifacts) => {
      const weights = new io.CompositeArrayBuffer(artifacts.weightData ?? []).slice();
      const json = JSON.stringify({
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      });
      saved = { json, weights };
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!saved) throw new Error('model.save did not call the handler');
  const modelJson = parseModelJson(new TextEncoder().encode(saved.json).buffer, 'model.json');
  const cut = Math.floor(saved.weights.byteLength / 3) | 1;
  return { modelJson, shards: [saved.weights.slice(0, cut), saved.weights.slice(cut)] };
}

/** Runs ONNX bytes on one float32 input; returns the first output. */
export async function runOnnx(
  onnx: Uint8Array,
  data: Float32Array,
  dims: number[],
): Promise<{ data: Float32Array; dims: readonly number[]; session: ort.InferenceSession }> {
  const session = await ort.InferenceSession.create(onnx);
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  if (inputName === undefined || outputName === undefined) throw new Error('model without input/output');
  const result = await session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
  const output = result[outputName];
  if (!output) throw new Error(`no output ${outputName}`);
  return { data: output.data as Float32Array, dims: output.dims, session };
}

/** Seeded uniform values in [-2, 2). */
export function randomInput(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => random() * 4 - 2);
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; ++i) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/**
 * Exports `model`, runs both on the same seeded batch, and returns the largest absolute
 * difference with both output shapes.
 */
export async function compareWithTfjs(
  model: LayersModel,
  options: { batch?: number; seed?: number } & OnnxExportOptions = {},
): Promise<{ diff: number; tfjsShape: number[]; onnxShape: number[]; session: ort.InferenceSession }> {
  const { batch = 3, seed = 1, ...exportOptions } = options;
  const { modelJson, shards } = await saveArtifacts(model);
  const onnx = exportOnnx(modelJson, shards, exportOptions);
  const inputShape = model.inputs[0]?.shape.slice(1) as number[];
  const dims = [batch, ...inputShape];
  const data = randomInput(
    dims.reduce((n, d) => n * d, 1),
    seed,
  );
  const x = tensor(data, dims);
  const y = model.predict(x) as Tensor;
  const expected = y.dataSync() as Float32Array;
  const tfjsShape = y.shape;
  x.dispose();
  y.dispose();
  const actual = await runOnnx(onnx, data, dims);
  return { diff: maxAbsDiff(expected, actual.data), tfjsShape, onnxShape: [...actual.dims], session: actual.session };
}
