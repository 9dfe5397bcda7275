import { forwardWork } from '../../../models/explain/cost.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { EdgeloopInferParameters } from '../../../protocol/oip.ts';
import { castData, type Tensor } from '../../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { chunkRows, inChunks } from './chunks.ts';
import { graphWork } from './graph-work.ts';
import { loadTfjsVersion } from './load.ts';
import { ModelCache } from './model-cache.ts';
import { onnxModelWork } from './onnx-work.ts';
import { runOnnx } from './ort-client.ts';
import { disposeTfjs, runTfjs, type TfjsModel } from './tfjs.ts';

/**
 * A tfjs model loaded in this isolate with its work per example (infer/cost.ts): counted from
 * a layers model's layers, or profiled on a graph model once at load (infer/graph-work.ts),
 * which then scales with a request's input elements over `inputElements`.
 */
export interface LoadedTfjs {
  loaded: TfjsModel;
  perExample: number;
  inputElements: number | null;
}

/** Models loaded in this isolate, by the size of their files (an isolate has 128 MB). */
const loaded = new ModelCache<LoadedTfjs>(64 * 1024 * 1024, (entry) => disposeTfjs(entry.loaded));

async function loadWithWork(bucket: R2Bucket, info: VersionInfo): Promise<{ model: LoadedTfjs; bytes: number }> {
  const { model, bytes } = await loadTfjsVersion(bucket, info);
  if (model.format === 'tfjs-layers') {
    return { model: { loaded: model, perExample: forwardWork(model.model), inputElements: null }, bytes };
  }
  try {
    return {
      model: { loaded: model, ...(await graphWork(model, info.manifest, `${info.model} v${info.version}`)) },
      bytes,
    };
  } catch (error) {
    disposeTfjs(model);
    throw error;
  }
}

/** What serving a version did: its outputs, whether its model was loaded already, the model's time. */
export interface Served<T> {
  value: T;
  cache: 'hit' | 'miss';
  computeMs: number;
}

/**
 * The runtime a request runs on: an ONNX model on ONNX Runtime; a tfjs model on tfjs, or on ORT
 * with its ONNX export when `parameters.runtime` asks for it. 400 UNSUPPORTED_MODEL when the
 * request asks for a runtime the version's format cannot run on.
 *
 * @example
 * runtimeOf(info, { runtime: 'onnx' }); // 'onnx'
 */
export function runtimeOf(info: VersionInfo, asked: EdgeloopInferParameters): 'tfjs' | 'onnx' {
  const { format } = info.manifest;
  if (format === 'onnx') {
    if (asked.runtime === 'tfjs') {
      throw new ApiError(
        400,
        ErrorCode.UNSUPPORTED_MODEL,
        `${info.model} v${info.version} is an ONNX model: it runs on ONNX Runtime only`,
      );
    }
    return 'onnx';
  }
  return asked.runtime ?? 'tfjs';
}

/**
 * Calls `use` with the version's tfjs model, loaded once per isolate (LRU by file size), and
 * times the call: `computeMs` excludes loading.
 *
 * @example
 * const { value } = await withTfjsModel(env.ARTIFACTS, info, ({ loaded }) => runTfjs(loaded, info.manifest, inputs, 'digits v3', 5, 'api'));
 */
export async function withTfjsModel<T>(
  bucket: R2Bucket,
  info: VersionInfo,
  use: (model: LoadedTfjs) => T | Promise<T>,
): Promise<Served<T>> {
  let computeMs = 0;
  const { value, hit } = await loaded.use(
    `${info.model}@${info.version}`,
    () => loadWithWork(bucket, info),
    async (model) => {
      const started = performance.now();
      try {
        return await use(model);
      } finally {
        computeMs = performance.now() - started;
      }
    },
  );
  return { value, cache: hit ? 'hit' : 'miss', computeMs };
}

/** Input elements of one example of the batch. */
const exampleElements = (inputs: readonly Tensor[]) =>
  inputs.reduce((n, t) => n + t.data.length / Math.max(1, t.shape[0] ?? 1), 0);

/**
 * The work units of one example of `inputs` through the version's tfjs model (infer/cost.ts),
 * loading the model if this isolate has not; `cache` says which.
 *
 * @example
 * const { perExample } = await tfjsWork(env.ARTIFACTS, info, inputs); // 715,396 for digits
 */
async function tfjsWork(
  bucket: R2Bucket,
  info: VersionInfo,
  inputs: readonly Tensor[],
): Promise<{ perExample: number; cache: 'hit' | 'miss' }> {
  const { value, hit } = await loaded.use(
    `${info.model}@${info.version}`,
    () => loadWithWork(bucket, info),
    ({ perExample, inputElements }) =>
      inputElements ? Math.ceil((perExample * exampleElements(inputs)) / inputElements) : perExample,
  );
  return { perExample: value, cache: hit ? 'hit' : 'miss' };
}

/**
 * The work units of one example of `inputs` on the version's model (infer/cost.ts): counted on
 * its tfjs model (for a tfjs-layers version also when its ONNX export runs: the same function),
 * or estimated from an ONNX model's graph. `cache` says whether a tfjs model was loaded already.
 *
 * @example
 * const { perExample } = await modelWork(env.ARTIFACTS, info, inputs);
 */
export async function modelWork(
  bucket: R2Bucket,
  info: VersionInfo,
  inputs: readonly Tensor[],
): Promise<{ perExample: number; cache: 'hit' | 'miss' | null }> {
  if (info.manifest.format === 'onnx') return { perExample: await onnxModelWork(bucket, info, inputs), cache: null };
  return tfjsWork(bucket, info, inputs);
}

/**
 * Runs a version's tfjs model on checked inputs, a chunk of rows at a time in `owner`'s turns
 * (infer/lane.ts; work after the answer, such as a shadow version's, shares one owner).
 *
 * @example
 * const { value: [probs] } = await runTfjsVersion(env.ARTIFACTS, info, inputs, 'client:c_1');
 */
export function runTfjsVersion(
  bucket: R2Bucket,
  info: VersionInfo,
  inputs: Tensor[],
  owner = 'background',
): Promise<Served<Tensor[]>> {
  return withTfjsModel(bucket, info, ({ loaded, perExample }) =>
    runTfjs(loaded, info.manifest, inputs, `${info.model} v${info.version}`, chunkRows(perExample), owner),
  );
}

/**
 * Runs a version's ONNX export (its file with role `onnx`) in the ORT Worker, with the
 * manifest's input and output names (the exporter names the graph's tensors after them):
 * `rowsPerChunk` rows per call (default all), so the ORT Worker is not held by one batch either.
 *
 * @example
 * const { value: [probs] } = await runOnnxVersion(env, info, inputs, chunkRows(perExample));
 */
export async function runOnnxVersion(
  env: Env,
  info: VersionInfo,
  inputs: Tensor[],
  rowsPerChunk = Number.POSITIVE_INFINITY,
): Promise<Served<Tensor[]>> {
  const calls: Served<Tensor[]>[] = [];
  const value = await inChunks(inputs, rowsPerChunk, async (chunk) => {
    const call = await runOnnxCall(env, info, chunk);
    calls.push(call);
    return call.value;
  });
  const computeMs = calls.reduce((ms, call) => ms + call.computeMs, 0);
  return { value, cache: calls[0]?.cache ?? 'hit', computeMs };
}

/** One call of the ORT Worker. */
async function runOnnxCall(env: Env, info: VersionInfo, inputs: Tensor[]): Promise<Served<Tensor[]>> {
  const label = `${info.model} v${info.version}`;
  // An ONNX model is its `model` file; a tfjs-layers version may carry its export as `onnx`.
  const role = info.manifest.format === 'onnx' ? 'model' : 'onnx';
  const path = info.manifest.files.find((f) => f.role === role)?.path;
  const file = info.files.find((f) => f.path === path);
  if (!file) {
    if (info.manifest.format === 'tfjs-graph') {
      throw new ApiError(
        400,
        ErrorCode.UNSUPPORTED_MODEL,
        `${label} is a tfjs graph model; it has no ONNX export: leave parameters.runtime out`,
      );
    }
    throw new ApiError(
      400,
      ErrorCode.UNSUPPORTED_MODEL,
      `${label} has no ONNX export (publish it with \`edgeloop publish --onnx\`); leave parameters.runtime out to run it with tfjs`,
    );
  }
  const names = info.manifest.outputs.map((o) => o.name);
  const answer = await runOnnx(
    env.ORT,
    {
      v: 1,
      sha256: file.sha256,
      // A copy: ORT's schema takes arrays that own their buffer.
      inputs: inputs.map((input, i) => ({
        name: info.manifest.inputs[i]?.name ?? '',
        shape: input.shape,
        data: input.data.slice(),
      })),
      outputs: names,
    },
    label,
  );
  const outputs = info.manifest.outputs.map((spec) => {
    const out = answer.outputs.find((o) => o.name === spec.name);
    if (!out) throw new ApiError(500, ErrorCode.INTERNAL, `${label}: the ONNX model has no output "${spec.name}"`);
    return { shape: out.shape, data: castData(out.data, spec.dtype) };
  });
  return { value: outputs, cache: answer.cached ? 'hit' : 'miss', computeMs: answer.runMs };
}
