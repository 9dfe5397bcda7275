import * as ort from 'onnxruntime-web/wasm'; // dist/ort.wasm.bundle.min.mjs: the emscripten glue inlined
// CompiledWasm: a WebAssembly.Module. A relative path: wrangler's module rules do not resolve package names.
import ortWasm from '../../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm';

// onnxruntime-web in workerd, one thread, no proxy Worker. workerd refuses to compile wasm from
// bytes, and ORT 1.30 takes only bytes (`env.wasm.wasmBinary`) or a URL to fetch. So ORT gets a
// placeholder binary (it then neither fetches nor looks for its script URL) and, during the one
// call that starts it, `WebAssembly.instantiate` instantiates the module compiled at upload.
// ORT remembers a failed start for the life of the isolate.

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.wasm.wasmBinary = new Uint8Array(8);
ort.env.logLevel = 'error';

const OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['wasm'],
  graphOptimizationLevel: 'all',
};

type Instantiate = (source: unknown, imports: unknown) => Promise<unknown>;

/** Runs `start` with `WebAssembly.instantiate(bytes, imports)` answered from `module`. */
async function withPrecompiledWasm<T>(module: WebAssembly.Module, start: () => Promise<T>): Promise<T> {
  const wasm = WebAssembly as unknown as { instantiate: Instantiate };
  const original = wasm.instantiate;
  wasm.instantiate = async (source, imports) => {
    if (source instanceof WebAssembly.Module) return original.call(WebAssembly, source, imports);
    const instance = await original.call(WebAssembly, module, imports);
    return { module, instance };
  };
  try {
    return await start();
  } finally {
    wasm.instantiate = original;
  }
}

/** Settles once ORT has started (or failed to); null before the first session. */
let started: Promise<unknown> | null = null;

/**
 * Creates an InferenceSession from a model's bytes. The first call also starts ORT; calls made
 * meanwhile wait for that start rather than racing it.
 *
 * @example
 * const session = await createSession(new Uint8Array(await object.arrayBuffer()));
 */
export async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  if (started === null) {
    const first = withPrecompiledWasm(ortWasm, () => ort.InferenceSession.create(bytes, OPTIONS));
    started = first.catch(() => undefined);
    return first;
  }
  await started;
  return ort.InferenceSession.create(bytes, OPTIONS);
}

export { ort };
