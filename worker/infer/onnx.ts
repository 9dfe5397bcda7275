import type * as Ort from 'onnxruntime-web';
import { TRIAL_DIM } from '../../models/formats/trial.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { TensorDtype } from '../../protocol/manifest.ts';
import { asFloat32, castData, type Tensor, type TensorData } from '../../protocol/oip-tensor.ts';
import { ORT_FILES } from '../../protocol/ort.ts';
import type { RuntimeEnv } from '../env.ts';
import type { Signature } from './run-model.ts';

// The ONNX Runtime Web adapter: the one module that calls ORT and reads its error messages.
// ORT is imported on first use only, so a tfjs-only page never downloads it.

/** ORT's execution providers the worker uses. */
export type OnnxProvider = 'webgpu' | 'wasm';

/** An ORT session over a model whose inputs and outputs the manifest's signature names. */
export interface OnnxSession {
  readonly provider: OnnxProvider;
  /** The first input's shape without the batch axis, e.g. [28, 28, 1] (free sizes TRIAL_DIM). */
  readonly inputShape: number[];
  /** The first output's last size (0 when it is free). */
  readonly classes: number;
  /** Runs one input (row-major, batch of one) and returns the first output's values. */
  run(input: Float32Array): Promise<Float32Array>;
  /**
   * Runs feeds in the signature's order and returns every output in its order and dtypes; a
   * spec the graph has no tensor of that name for maps to the graph's at its position.
   */
  runAll(feeds: Tensor[], signature: Signature): Promise<Tensor[]>;
  release(): Promise<void>;
}

type OrtModule = typeof Ort;

const builds = new Map<OnnxProvider, Promise<OrtModule>>();

/**
 * Imports and configures ORT once per build: `webgpu` loads the JSPI build (which also runs the
 * wasm EP), `wasm` the plain one. One thread unless the page is cross-origin isolated (threads
 * need SharedArrayBuffer); in a browser the glue and binary come from `/ort/` on the origin of
 * the worker's script (`env.scriptUrl`: the edge, also for the script tag's `blob:` worker),
 * never from a CDN. In Node (no script URL) ORT finds them in its package.
 *
 * @example
 * const ort = await importOrt('wasm', runtime.env);
 */
export function importOrt(build: OnnxProvider, env: RuntimeEnv): Promise<OrtModule> {
  let loading = builds.get(build);
  if (!loading) {
    loading = (build === 'webgpu' ? import('onnxruntime-web/jspi') : import('onnxruntime-web/wasm')).then((ort) => {
      if (!env.crossOriginIsolated) ort.env.wasm.numThreads = 1;
      // An object, not a prefix string: a prefix broke loading ORT under `vite dev`.
      if (env.scriptUrl) ort.env.wasm.wasmPaths = ortUrls(build, env.scriptUrl);
      return ort;
    });
    // A failed import (e.g. a missing chunk) may be retried by the next load.
    loading.catch(() => builds.delete(build));
    builds.set(build, loading);
  }
  return loading.catch((error: unknown) => {
    throw ortError(`import ONNX Runtime (${build} build)`, error, env.scriptUrl);
  });
}

/**
 * Where the browser fetches a build's glue and binary: `/ort/<file>` on the worker script's
 * origin, as absolute URLs, so ORT's own import of the glue depends on no base of its own.
 */
function ortUrls(build: OnnxProvider, scriptUrl: string): { mjs: string; wasm: string } {
  const files = ORT_FILES[build];
  return { mjs: new URL(`/ort/${files.mjs}`, scriptUrl).href, wasm: new URL(`/ort/${files.wasm}`, scriptUrl).href };
}

/**
 * Creates a session for `bytes` on one execution provider. Only that provider is listed: given
 * ['webgpu', 'wasm'], ORT drops an unavailable WebGPU with a console warning the worker could
 * not report. (Nodes an EP lacks still run on ORT's CPU kernels inside the session, as always.)
 * INVALID_MANIFEST when the model's first input or output is not a tensor.
 *
 * @example
 * const session = await createOnnxSession(await importOrt('wasm', env), bytes, 'wasm', env);
 * const probabilities = await session.run(new Float32Array(784));
 */
export async function createOnnxSession(
  ort: OrtModule,
  bytes: ArrayBuffer,
  provider: OnnxProvider,
  env: RuntimeEnv,
): Promise<OnnxSession> {
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: [provider] });
  } catch (error) {
    throw ortError(`create an ONNX session on ${provider}`, error, env.scriptUrl);
  }
  try {
    return wrapSession(ort, session, provider);
  } catch (error) {
    await session.release();
    throw error;
  }
}

function wrapSession(ort: OrtModule, session: Ort.InferenceSession, provider: OnnxProvider): OnnxSession {
  const input = session.inputMetadata[0];
  const output = session.outputMetadata[0];
  if (!input?.isTensor || !output?.isTensor) {
    throw new EdgeloopError('INVALID_MANIFEST', 'the ONNX model must take and return tensors');
  }
  const inputShape = input.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : TRIAL_DIM));
  const last = output.shape.at(-1);
  const shape = [1, ...inputShape];
  const runAll = async (feeds: Tensor[], signature: Signature): Promise<Tensor[]> => {
    try {
      const inputs = graphNames(signature.inputs, session.inputNames);
      const named = Object.fromEntries(
        signature.inputs.map((spec, i) => {
          const feed = feeds[i] as Tensor;
          return [inputs[i], new ort.Tensor(ORT_TYPE[spec.dtype], feed.data, feed.shape)];
        }),
      );
      const outputs = graphNames(signature.outputs, session.outputNames);
      const result = await session.run(named, outputs);
      return signature.outputs.map((spec, i) => {
        const y = result[outputs[i] as string];
        if (!y) throw new Error(`no output ${outputs[i]}`);
        return { shape: [...y.dims], data: castData(y.data as TensorData, spec.dtype) };
      });
    } catch (error) {
      throw ortError(`run the ONNX model on ${provider}`, error, null);
    }
  };
  return {
    provider,
    inputShape,
    classes: typeof last === 'number' && last > 0 ? last : 0,
    async run(values) {
      const signature: Signature = {
        inputs: [{ name: input.name, dtype: dtypeOf(input.type), shape: [-1, ...inputShape] }],
        outputs: [{ name: output.name, dtype: 'float32', shape: [] }],
      };
      const [first] = await runAll([{ shape, data: castData(values, dtypeOf(input.type)) }], signature);
      return asFloat32(first?.data ?? new Float32Array());
    },
    runAll,
    release: () => session.release(),
  };
}

/**
 * The graph's name for each spec: its own where the graph has it, else the graph's tensor at the
 * same position (a tfjs version's ONNX export may name its tensors otherwise than the manifest).
 */
function graphNames(specs: readonly { name: string }[], names: readonly string[]): string[] {
  return specs.map((spec, i) => (names.includes(spec.name) ? spec.name : (names[i] ?? spec.name)));
}

/** ORT's element type names for the manifest's dtypes. */
const ORT_TYPE = { float32: 'float32', int32: 'int32', int64: 'int64', uint8: 'uint8', bool: 'bool' } as const;

/** The manifest dtype of an ORT element type (float32 for any the manifest cannot name). */
function dtypeOf(type: string): TensorDtype {
  return type in ORT_TYPE ? (type as TensorDtype) : 'float32';
}

/**
 * Translates an error thrown by ORT into an EdgeloopError: the one place that reads ORT's
 * messages (`ERROR_CODE: n` is ORT's OrtErrorCode), so an ORT upgrade is fixed here only.
 * BACKEND_UNAVAILABLE: an EP or ORT's own files cannot start; INVALID_MANIFEST: the file is not
 * a model ORT can load; UNSUPPORTED_MODEL: it uses an operator ORT lacks; INVALID_INPUT: ORT
 * refused the input; INTERNAL: anything else.
 *
 * @example
 * ortError('run', new Error("failed to call OrtRun(). ERROR_CODE: 2, ERROR_MESSAGE: Got invalid dimensions")).code; // 'INVALID_INPUT'
 */
export function ortError(context: string, error: unknown, scriptUrl: string | null): EdgeloopError {
  if (error instanceof EdgeloopError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const detail = `${context}: ${message}`;
  const ortCode = Number(/ERROR_CODE: (\d+)/.exec(message)?.[1]);
  if (/no available backend found|backend not found|ERROR_CODE: 11\b|webgpu/i.test(message)) {
    return new EdgeloopError('BACKEND_UNAVAILABLE', detail, { cause: error });
  }
  if (/fetch|import|magic word|WebAssembly|\.wasm|\.mjs/i.test(message) && !ortCode) {
    const where = scriptUrl ? ` (are ORT's files served at ${new URL('/ort/', scriptUrl).href}?)` : '';
    return new EdgeloopError('BACKEND_UNAVAILABLE', `${detail}${where}`, { cause: error });
  }
  if (ortCode === 7 || ortCode === 10 || /protobuf parsing failed/i.test(message)) {
    return new EdgeloopError('INVALID_MANIFEST', detail, { cause: error });
  }
  if (ortCode === 9 || /Could not find an implementation/i.test(message)) {
    return new EdgeloopError('UNSUPPORTED_MODEL', detail, { cause: error });
  }
  if (ortCode === 2 || /invalid dimensions|input '[^']*' is missing/i.test(message)) {
    return new EdgeloopError('INVALID_INPUT', detail, { cause: error });
  }
  return new EdgeloopError('INTERNAL', detail, { cause: error });
}
