import { trialInput } from '../../../models/formats/trial.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { Manifest, TensorSpec } from '../../../protocol/manifest.ts';
import { parseModelJson, weightPaths } from '../../../protocol/model-json.ts';
import type { Tensor } from '../../../protocol/oip-tensor.ts';
import { ApiError } from '../http/api-error.ts';
import { checkOnnx } from '../infer/ort-client.ts';
import { buildTfjsModel, disposeTfjs, runOnce } from '../infer/tfjs.ts';

// A version is refused at publish, not at its first infer, when its model cannot run: before
// anything is stored, the model is loaded by its runtime (tfjs in this isolate, ONNX models in
// the ORT Worker) and run once on zeros of the manifest's input shapes, and its outputs are
// checked against the manifest's.

const invalidModel = (message: string) => new ApiError(400, ErrorCode.INVALID_MODEL, message);

/** Why an output does not fit its spec: another rank, or another size where the manifest fixes one. */
function outputProblem(spec: TensorSpec, shape: readonly number[], i: number): string | null {
  const fits = shape.length === spec.shape.length && spec.shape.every((d, k) => d < 0 || d === shape[k]);
  return fits
    ? null
    : `manifest.outputs[${i}] ("${spec.name}") is [${spec.shape}], but the model answers [${shape}] for one example`;
}

function checkOutputs(manifest: Manifest, shapes: readonly (readonly number[])[], path: string): void {
  if (shapes.length !== manifest.outputs.length) {
    throw invalidModel(`${path} answers ${shapes.length} outputs; manifest.outputs lists ${manifest.outputs.length}`);
  }
  for (const [i, spec] of manifest.outputs.entries()) {
    const problem = outputProblem(spec, shapes[i] ?? [], i);
    if (problem) throw invalidModel(`${path}: ${problem}`);
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The bytes' buffer when they are all of it (a form part's are), else a copy: a 25 MiB model is not copied twice. */
const bufferOf = (bytes: Uint8Array): ArrayBuffer =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : bytes.slice().buffer;

async function tfjsTrial(manifest: Manifest, bytesOf: ReadonlyMap<string, Uint8Array>, path: string, inputs: Tensor[]) {
  const format = manifest.format === 'tfjs-graph' ? 'tfjs-graph' : 'tfjs-layers';
  const modelBytes = bytesOf.get(path) ?? new Uint8Array(0);
  const modelJson = parseModelJson(bufferOf(modelBytes), path);
  const shards = weightPaths(modelJson, path).map((p) => bufferOf(bytesOf.get(p) ?? new Uint8Array(0)));
  let loaded: Awaited<ReturnType<typeof buildTfjsModel>>;
  try {
    loaded = await buildTfjsModel(format, modelJson, shards, path);
  } catch (error) {
    throw invalidModel(
      `${path}: tfjs cannot load it: ${messageOf(error).replace(`${path} could not be loaded: `, '')}`,
    );
  }
  try {
    const outputs = await runOnce(loaded, manifest, inputs, path);
    checkOutputs(
      manifest,
      outputs.map((o) => o.shape),
      path,
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) throw error;
    throw invalidModel(
      `${path}: tfjs cannot run it on inputs of the manifest's shapes: ${messageOf(error).replace(`${path} failed to run: `, '')}`,
    );
  } finally {
    disposeTfjs(loaded);
  }
}

async function onnxTrial(env: Env, manifest: Manifest, bytes: Uint8Array, path: string, inputs: Tensor[]) {
  const result = await checkOnnx(
    env.ORT,
    {
      v: 1,
      model: bytes,
      inputs: inputs.map((t, i) => ({ name: manifest.inputs[i]?.name ?? '', shape: t.shape, data: t.data })),
      outputs: manifest.outputs.map((o) => o.name),
    },
    path,
  );
  checkOutputs(
    manifest,
    result.outputs.map((o) => o.shape),
    path,
  );
}

/**
 * Loads and runs the model of a version about to be published once, on one example of zeros
 * (unknown sizes 32; infer/graph-work.ts), and checks it answers the manifest's outputs. A
 * tfjs-layers version's ONNX export is run too. Throws 400 INVALID_MODEL with the runtime's
 * reason; call it after checkModelFiles.
 *
 * @example
 * await trialRun(c.env, upload.manifest, upload.files);
 */
export async function trialRun(env: Env, manifest: Manifest, files: readonly { path: string; bytes: Uint8Array }[]) {
  const bytesOf = new Map(files.map((f) => [f.path, f.bytes]));
  const inputs = manifest.inputs.map(trialInput);
  const model = manifest.files.find((f) => f.role === 'model')?.path ?? '';
  if (manifest.format === 'onnx') {
    await onnxTrial(env, manifest, bytesOf.get(model) ?? new Uint8Array(0), model, inputs);
    return;
  }
  await tfjsTrial(manifest, bytesOf, model, inputs);
  for (const onnx of manifest.files.filter((f) => f.role === 'onnx')) {
    await onnxTrial(env, manifest, bytesOf.get(onnx.path) ?? new Uint8Array(0), onnx.path, inputs);
  }
}
