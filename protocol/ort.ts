import * as v from 'valibot';

// What crosses the service binding from the edge Worker to the ONNX Runtime Worker
// ("edgeloop-ort", edge/ort/): one JS RPC call, `run(request) → result`. Typed arrays cross
// the binding by structured clone, so tensors keep their Float32Array.

/**
 * ORT's emscripten glue and binary per build, as the build serves them under `/ort/`
 * (web/build/ort-wasm-assets.ts copies them; worker/infer/onnx.ts loads them). WebGPU uses the JSPI build (16.8 MB; it runs the wasm EP too):
 * the JSEP and asyncify builds are over Cloudflare's 25 MiB limit per static asset. The plain
 * build (14.2 MB) runs the wasm EP where WebGPU is not tried or its build could not start.
 */
export const ORT_FILES = {
  webgpu: { mjs: 'ort-wasm-simd-threaded.jspi.mjs', wasm: 'ort-wasm-simd-threaded.jspi.wasm' },
  wasm: { mjs: 'ort-wasm-simd-threaded.mjs', wasm: 'ort-wasm-simd-threaded.wasm' },
} as const;

/** Most elements one tensor may hold (a 64 × 28 × 28 batch is 50,176). */
export const ORT_MAX_ELEMENTS = 1 << 20;

const Sha256 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256'));
const Shape = v.pipe(
  v.array(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  v.maxLength(8),
  v.check((shape) => shape.reduce((a, b) => a * b, 1) <= ORT_MAX_ELEMENTS, `at most ${ORT_MAX_ELEMENTS} elements`),
);
const Name = v.pipe(v.string(), v.minLength(1), v.maxLength(256));
// Typed arrays over any buffer (v.instance would narrow them to Float32Array<ArrayBuffer>).
const F32 = v.custom<Float32Array>((x) => x instanceof Float32Array, 'a Float32Array');
const I32 = v.custom<Int32Array>((x) => x instanceof Int32Array, 'an Int32Array');
const I64 = v.custom<BigInt64Array>((x) => x instanceof BigInt64Array, 'a BigInt64Array');
const U8 = v.custom<Uint8Array>((x) => x instanceof Uint8Array, 'a Uint8Array');

/**
 * One input tensor, row-major. The Worker converts `data` to the type the model declares for
 * the input (float32, float64, int32, int64, uint8 or bool), so a Float32Array feeds any
 * numeric input.
 */
export const OrtInput = v.pipe(
  v.object({
    name: Name,
    shape: Shape,
    data: v.union([F32, I32, I64, U8, v.array(v.number())]),
  }),
  v.check(
    ({ shape, data }) => data.length === shape.reduce((a, b) => a * b, 1),
    (issue) =>
      `data has ${issue.input.data.length} elements; shape [${issue.input.shape}] holds ${issue.input.shape.reduce((a, b) => a * b, 1)}`,
  ),
);
export type OrtInput = v.InferOutput<typeof OrtInput>;

/** `run`'s argument: the model by the SHA-256 of its `.onnx` file (its R2 key is `blobs/sha256/<sha256>`). */
export const OrtRunRequest = v.strictObject({
  v: v.literal(1),
  sha256: Sha256,
  inputs: v.pipe(v.array(OrtInput), v.minLength(1), v.maxLength(64)),
  /** Outputs to compute (default: all the model's outputs). */
  outputs: v.optional(v.pipe(v.array(Name), v.minLength(1), v.maxLength(64))),
});
export type OrtRunRequest = v.InferOutput<typeof OrtRunRequest>;

/** Largest model `check` takes: what one version's files may total (protocol/manifest.ts). */
export const ORT_MAX_CHECK_BYTES = 25 * 1024 * 1024;

/**
 * `check`'s argument: a model not stored yet (a version being published), by its bytes, and the
 * trial inputs to run it on once. Nothing is cached.
 */
export const OrtCheckRequest = v.strictObject({
  v: v.literal(1),
  model: v.pipe(
    U8,
    v.check((bytes) => bytes.byteLength <= ORT_MAX_CHECK_BYTES, `at most ${ORT_MAX_CHECK_BYTES} bytes`),
  ),
  inputs: v.pipe(v.array(OrtInput), v.minLength(1), v.maxLength(64)),
  outputs: v.optional(v.pipe(v.array(Name), v.minLength(1), v.maxLength(64))),
});
export type OrtCheckRequest = v.InferOutput<typeof OrtCheckRequest>;

/** ORT's tensor element types that an output may have here. */
export const OrtOutputType = v.picklist([
  'float32',
  'float64',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
]);
export type OrtOutputType = v.InferOutput<typeof OrtOutputType>;

/**
 * One output tensor: float32 a Float32Array, int32 an Int32Array, int64 a BigInt64Array, uint8
 * and bool (0/1) a Uint8Array; other types come as numbers.
 */
export const OrtOutput = v.object({
  name: v.string(),
  type: OrtOutputType,
  shape: v.array(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  data: v.union([F32, I32, I64, U8, v.array(v.number())]),
});
export type OrtOutput = v.InferOutput<typeof OrtOutput>;

/**
 * Why a run failed, decided once in the ORT Worker:
 * INVALID_INPUT (the caller's tensors do not fit the model), FILE_NOT_FOUND (no blob under the
 * key), DIGEST_MISMATCH (the blob's bytes do not hash to its key), MODEL_LOAD (ORT refused
 * the model), INTERNAL (anything else, ORT's own init included).
 */
export const OrtFailure = v.picklist(['INVALID_INPUT', 'FILE_NOT_FOUND', 'DIGEST_MISMATCH', 'MODEL_LOAD', 'INTERNAL']);
export type OrtFailure = v.InferOutput<typeof OrtFailure>;

/** `run`'s answer when the model ran. */
export const OrtRunOk = v.object({
  v: v.literal(1),
  ok: v.literal(true),
  outputs: v.array(OrtOutput),
  /** Whether the session was in this isolate's cache already (false: loaded from R2 for this call). */
  cached: v.boolean(),
  /** Milliseconds spent loading the model (0 when cached) and running it. */
  loadMs: v.number(),
  runMs: v.number(),
});
export type OrtRunOk = v.InferOutput<typeof OrtRunOk>;

/** `run`'s answer when it failed. Failures are answered, not thrown, so their kind survives the binding. */
export const OrtRunFailed = v.object({
  v: v.literal(1),
  ok: v.literal(false),
  error: v.object({ kind: OrtFailure, message: v.string() }),
});
export type OrtRunFailed = v.InferOutput<typeof OrtRunFailed>;

export const OrtRunResult = v.variant('ok', [OrtRunOk, OrtRunFailed]);
export type OrtRunResult = v.InferOutput<typeof OrtRunResult>;
