import type * as Ort from 'onnxruntime-web';
import { EdgeloopError } from '../../protocol/errors.ts';
import { ORT_FILES } from '../../protocol/ort.ts';
import type { RuntimeEnv } from '../env.ts';

// The ONNX Runtime Web adapter: the one module that calls ORT and reads its error messages.
// ORT is imported on first use only, so a tfjs-only page never downloads it.

/** ORT's execution providers the worker uses. */
export type OnnxProvider = 'webgpu' | 'wasm';

/** An ORT session over a model with one float32 input [batch, ...inputShape] and a first output [batch, classes]. */
export interface OnnxSession {
  readonly provider: OnnxProvider;
  /** Input shape without the batch axis, e.g. [28, 28, 1]. */
  readonly inputShape: number[];
  readonly classes: number;
  /** Runs one input (row-major, batch of one) and returns the first output's values. */
  run(input: Float32Array): Promise<Float32Array>;
  release(): Promise<void>;
}

type OrtModule = typeof Ort;

const builds = new Map<OnnxProvider, Promise<OrtModule>>();

/**
 * Imports and configures ORT once per build: `webgpu` loads the JSPI build (which also runs the
 * wasm EP), `wasm` the plain one. One thread unless the page is cross-origin isolated (threads
 * need SharedArrayBuffer); in a browser the glue and binary come from `/ort/` on the worker's
 * origin, never from a CDN. In Node (no script URL) ORT finds them in its package.
 *
 * @example
 * const ort = await importOrt('wasm', runtime.env);
 */
export function importOrt(build: OnnxProvider, env: RuntimeEnv): Promise<OrtModule> {
  let loading = builds.get(build);
  if (!loading) {
    loading = (build === 'webgpu' ? import('onnxruntime-web/jspi') : import('onnxruntime-web/wasm')).then((ort) => {
      if (!env.crossOriginIsolated) ort.env.wasm.numThreads = 1;
      // An object, not a prefix string: a prefix breaks `vite dev` (see DESIGN.md).
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

/** Where the browser fetches a build's glue and binary: `/ort/<file>` on the worker's origin. */
function ortUrls(build: OnnxProvider, scriptUrl: string): { mjs: string; wasm: string } {
  const files = ORT_FILES[build];
  return { mjs: new URL(`/ort/${files.mjs}`, scriptUrl).href, wasm: new URL(`/ort/${files.wasm}`, scriptUrl).href };
}

/**
 * Creates a session for `bytes` on one execution provider. Only that provider is listed: given
 * ['webgpu', 'wasm'], ORT drops an unavailable WebGPU with a console warning the worker could
 * not report. (Nodes an EP lacks still run on ORT's CPU kernels inside the session, as always.)
 * INVALID_MANIFEST when the model's input or output is not the fixed float32 shape predict feeds.
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
  if (!input?.isTensor || !output?.isTensor || input.type !== 'float32' || output.type !== 'float32') {
    throw new EdgeloopError('INVALID_MANIFEST', 'the ONNX model must take and return float32 tensors');
  }
  const inputShape = input.shape.slice(1);
  const classes = output.shape.at(-1);
  if (!isDims(inputShape) || typeof classes !== 'number' || classes <= 0) {
    throw new EdgeloopError(
      'INVALID_MANIFEST',
      `the ONNX model's input [${input.shape}] and output [${output.shape}] must be fixed but for the batch axis`,
    );
  }
  const shape = [1, ...inputShape];
  return {
    provider,
    inputShape,
    classes,
    async run(values) {
      try {
        const feeds = { [input.name]: new ort.Tensor('float32', values, shape) };
        const result = (await session.run(feeds, [output.name]))[output.name];
        if (!result) throw new Error(`no output ${output.name}`);
        return result.data as Float32Array;
      } catch (error) {
        throw ortError(`run the ONNX model on ${provider}`, error, null);
      }
    },
    release: () => session.release(),
  };
}

function isDims(shape: readonly (number | string)[]): shape is number[] {
  return shape.every((d) => typeof d === 'number' && d > 0);
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
