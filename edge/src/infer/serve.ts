import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { Tensor } from '../../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { chunkRows, inChunks } from './chunks.ts';
import { forwardWork } from './cost.ts';
import { loadTfjsVersion } from './load.ts';
import { ModelCache } from './model-cache.ts';
import { runOnnx } from './ort-client.ts';
import { disposeTfjs, runTfjs } from './tfjs.ts';

/** Models loaded in this isolate, by the size of their files (an isolate has 128 MB). */
const loaded = new ModelCache<LayersModel>(64 * 1024 * 1024, disposeTfjs);

/** What serving a version did: its outputs, whether its model was loaded already, the model's time. */
export interface Served<T> {
  value: T;
  cache: 'hit' | 'miss';
  computeMs: number;
}

/**
 * Calls `use` with the version's tfjs model, loaded once per isolate (LRU by file size), and
 * times the call: `computeMs` excludes loading.
 *
 * @example
 * const { value } = await withTfjsModel(env.ARTIFACTS, info, (model) => runTfjs(model, inputs, 'digits v3'));
 */
export async function withTfjsModel<T>(
  bucket: R2Bucket,
  info: VersionInfo,
  use: (model: LayersModel) => T | Promise<T>,
): Promise<Served<T>> {
  let computeMs = 0;
  const { value, hit } = await loaded.use(
    `${info.model}@${info.version}`,
    () => loadTfjsVersion(bucket, info),
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

/**
 * The work units of one example through the version's tfjs model (infer/cost.ts), loading the
 * model if this isolate has not (nothing runs); `cache` says which.
 *
 * @example
 * const { perExample } = await modelWork(env.ARTIFACTS, info); // 715,396 for digits
 */
export async function modelWork(
  bucket: R2Bucket,
  info: VersionInfo,
): Promise<{ perExample: number; cache: 'hit' | 'miss' }> {
  const { value, hit } = await loaded.use(
    `${info.model}@${info.version}`,
    () => loadTfjsVersion(bucket, info),
    forwardWork,
  );
  return { perExample: value, cache: hit ? 'hit' : 'miss' };
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
  return withTfjsModel(bucket, info, (model) =>
    runTfjs(model, inputs, `${info.model} v${info.version}`, chunkRows(forwardWork(model)), owner),
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
  const path = info.manifest.files.find((f) => f.role === 'onnx')?.path;
  const file = info.files.find((f) => f.path === path);
  if (!file) {
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
  const outputs = names.map((name) => {
    const out = answer.outputs.find((o) => o.name === name);
    if (!out) throw new ApiError(500, ErrorCode.INTERNAL, `${label}: the ONNX export has no output "${name}"`);
    return { shape: out.shape, data: out.data instanceof Float32Array ? out.data : Float32Array.from(out.data) };
  });
  return { value: outputs, cache: answer.cached ? 'hit' : 'miss', computeMs: answer.runMs };
}
