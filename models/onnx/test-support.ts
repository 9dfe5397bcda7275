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

/**
 * Runs ONNX bytes (or a session of them) on float32 inputs by graph input name; returns every
 * output, in graph order.
 *
 * @example
 * const { outputs } = await runOnnxFeeds(onnx, { image: { data, dims: [1, 8, 8, 3] }, meta: { data: m, dims: [1, 5] } });
 */
export async function runOnnxFeeds(
  onnx: Uint8Array | ort.InferenceSession,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
): Promise<{
  outputs: { name: string; data: Float32Array; dims: readonly number[] }[];
  session: ort.InferenceSession;
}> {
  const session = onnx instanceof Uint8Array ? await ort.InferenceSession.create(onnx) : onnx;
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([name, { data, dims }]) => [name, new ort.Tensor('float32', data, dims)]),
  );
  const result = await session.run(tensors);
  const outputs = session.outputNames.map((name) => {
    const output = result[name];
    if (!output) throw new Error(`no output ${name}`);
    return { name, data: output.data as Float32Array, dims: output.dims };
  });
  return { outputs, session };
}

/** Runs ONNX bytes on one float32 input; returns the first output. */
export async function runOnnx(
  onnx: Uint8Array,
  data: Float32Array,
  dims: number[],
): Promise<{ data: Float32Array; dims: readonly number[]; session: ort.InferenceSession }> {
  const session = await ort.InferenceSession.create(onnx);
  const [inputName] = session.inputNames;
  if (inputName === undefined) throw new Error('model without input');
  const { outputs } = await runOnnxFeeds(session, { [inputName]: { data, dims } });
  const [output] = outputs;
  if (!output) throw new Error('model without output');
  return { ...output, session };
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

export interface Comparison {
  /** The largest absolute difference over all outputs. */
  diff: number;
  /** The first output's shapes. */
  tfjsShape: number[];
  onnxShape: number[];
  /** Every output's shapes and difference, in the model's order. */
  outputs: { diff: number; tfjsShape: number[]; onnxShape: number[] }[];
  session: ort.InferenceSession;
}

/**
 * Runs `onnx` and `model` on the same seeded batch (input i seeded `seed + 1000·i`, fed to the
 * ONNX input at the same position) and compares every output.
 *
 * @example
 * const { diff, outputs } = await compareOnnx(loadedModel, exportOnnx(modelJson, shards), { batch: 4 });
 */
export async function compareOnnx(
  model: LayersModel,
  onnx: Uint8Array,
  { batch = 3, seed = 1 }: { batch?: number; seed?: number } = {},
): Promise<Comparison> {
  const session = await ort.InferenceSession.create(onnx);
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
  const xs = model.inputs.map((input, i) => {
    const dims = [batch, ...(input.shape.slice(1) as number[])];
    const data = randomInput(
      dims.reduce((n, d) => n * d, 1),
      seed + 1000 * i,
    );
    feeds[session.inputNames[i] as string] = { data, dims };
    return tensor(data, dims);
  });
  const predicted = model.predict(xs.length === 1 ? (xs[0] as Tensor) : xs);
  const ys = Array.isArray(predicted) ? predicted : [predicted];
  const actual = await runOnnxFeeds(session, feeds);
  const outputs = ys.map((y, i) => {
    const onnxOutput = actual.outputs[i];
    if (!onnxOutput) throw new Error(`ONNX has no output ${i}`);
    const diff = maxAbsDiff(y.dataSync() as Float32Array, onnxOutput.data);
    return { diff, tfjsShape: y.shape, onnxShape: [...onnxOutput.dims] };
  });
  for (const t of [...xs, ...ys]) t.dispose();
  if (outputs.length !== actual.outputs.length) throw new Error(`${outputs.length} ≠ ${actual.outputs.length} outputs`);
  const first = outputs[0] as Comparison['outputs'][number];
  const diff = Math.max(...outputs.map((o) => o.diff));
  return { diff, tfjsShape: first.tfjsShape, onnxShape: first.onnxShape, outputs, session: actual.session };
}

/** Exports `model` (saved as Edgeloop stores it) and compares it with tfjs via {@link compareOnnx}. */
export async function compareWithTfjs(
  model: LayersModel,
  options: { batch?: number; seed?: number } & OnnxExportOptions = {},
): Promise<Comparison> {
  const { batch, seed, ...exportOptions } = options;
  const { modelJson, shards } = await saveArtifacts(model);
  return compareOnnx(model, exportOnnx(modelJson, shards, exportOptions), { batch, seed });
}
