import * as v from 'valibot';
import { FeatureValues } from './events.ts';
import { AliasName, ModelName } from './names.ts';

/** What crosses the page ↔ worker boundary (comlink). Every message type carries `v`. */
export const BackendName = v.picklist(['webgpu', 'wasm', 'cpu']);
export type BackendName = v.InferOutput<typeof BackendName>;

export const BackendPreference = v.picklist(['auto', 'webgpu', 'wasm', 'cpu']);
export type BackendPreference = v.InferOutput<typeof BackendPreference>;

export const InitOptions = v.strictObject({
  v: v.literal(1),
  endpoint: v.pipe(v.string(), v.url()),
  key: v.pipe(v.string(), v.minLength(1)),
  backend: v.optional(BackendPreference, 'auto'),
  /** IndexedDB database name; lets tests and several apps keep separate stores. */
  dbName: v.optional(v.pipe(v.string(), v.minLength(1)), 'edgeloop'),
  /**
   * Where tfjs-backend-wasm's .wasm files are served, as a URL prefix ending in '/'; relative
   * prefixes resolve against the worker's URL. Default: `/tfjs/` on the worker's origin.
   */
  wasmPath: v.optional(v.pipe(v.string(), v.minLength(1), v.endsWith('/'))),
  /**
   * Send the app-supplied features of each prediction with its event. Off by default: the raw
   * features then stay on the device and only their hourly profiles leave it.
   */
  shareFeatures: v.optional(v.boolean(), false),
});
export type InitOptions = v.InferInput<typeof InitOptions>;

export const LoadOptions = v.strictObject({
  v: v.literal(1),
  model: ModelName,
  alias: v.optional(AliasName, 'production'),
});
export type LoadOptions = v.InferInput<typeof LoadOptions>;

/** Which backend runs and why: `auto` states the warm-up timings it chose by. */
export const BackendReport = v.object({
  v: v.literal(1),
  backend: BackendName,
  requested: BackendPreference,
  /** Milliseconds per warm-up predict, per backend tried. */
  warmupMs: v.record(v.string(), v.number()),
  /** Why a backend was not used (no adapter, init failed, slower, …). */
  skipped: v.record(v.string(), v.string()),
  /** WebGPU adapter facts when one exists (e.g. SwiftShader: isFallbackAdapter true). */
  adapter: v.optional(v.object({ architecture: v.string(), vendor: v.string(), isFallbackAdapter: v.boolean() })),
});
export type BackendReport = v.InferOutput<typeof BackendReport>;

export const LoadResult = v.object({
  v: v.literal(1),
  model: ModelName,
  alias: v.string(),
  version: v.number(),
  /** Files taken from the IndexedDB cache rather than the network. */
  cached: v.number(),
  backend: BackendReport,
  /**
   * The shadow version the edge assigned, if any: whether it loaded and, when not, why. A shadow
   * that fails to load never fails the load; predictions then run without it.
   */
  shadow: v.optional(v.object({ version: v.number(), loaded: v.boolean(), reason: v.optional(v.string()) })),
});
export type LoadResult = v.InferOutput<typeof LoadResult>;

/**
 * Per-predict options. `features`: values of the manifest's features that have no `source`
 * (the app computes them), by name; a name the manifest does not list that way is refused.
 */
export const PredictOptions = v.strictObject({
  features: v.optional(FeatureValues),
});
export type PredictOptions = v.InferInput<typeof PredictOptions>;

export const PredictResult = v.object({
  v: v.literal(1),
  predictionId: v.string(),
  model: ModelName,
  version: v.number(),
  outputs: v.array(v.number()),
  label: v.number(),
  backend: BackendName,
  latencyMs: v.number(),
});
export type PredictResult = v.InferOutput<typeof PredictResult>;

export const TrainOptions = v.strictObject({
  v: v.literal(1),
  epochs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(50)), 5),
  /** Replay examples mixed in per feedback example, to keep what the model knew. */
  replayRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(64)), 4),
  learningRate: v.optional(v.pipe(v.number(), v.gtValue(0)), 0.001),
});
export type TrainOptions = v.InferInput<typeof TrainOptions>;

export const TrainProgress = v.object({
  v: v.literal(1),
  epoch: v.number(),
  epochs: v.number(),
  loss: v.number(),
});
export type TrainProgress = v.InferOutput<typeof TrainProgress>;

export const TrainResult = v.object({
  v: v.literal(1),
  backend: BackendName,
  examples: v.number(),
  replayExamples: v.number(),
  epochs: v.number(),
  durationMs: v.number(),
  /** Accuracy on the model's standard held-out set, before and after. */
  holdoutBefore: v.number(),
  holdoutAfter: v.number(),
  /** Accuracy on the user's own labelled examples, before and after. */
  feedbackBefore: v.number(),
  feedbackAfter: v.number(),
  /** The registry version the fine-tune started from; predictions keep reporting it. */
  version: v.number(),
  /** The new weights exist only on this device: a local fine-tune, not a registry version. */
  localFineTune: v.literal(true),
  /** False when held-out accuracy fell by more than 1.5 points: the previous weights were kept. */
  applied: v.boolean(),
  /** What happened, in words (e.g. which backend trained and why). */
  note: v.string(),
  /** The experiment run on the edge that records this fine-tune (`GET /v1/runs/{runId}`). */
  runId: v.optional(v.string()),
  /**
   * Why the run was not (fully) recorded, e.g. the edge was unreachable. Training never depends
   * on the network: it completes either way.
   */
  runError: v.optional(v.string()),
});
export type TrainResult = v.InferOutput<typeof TrainResult>;

export const SyncResult = v.object({
  v: v.literal(1),
  sent: v.number(),
  accepted: v.number(),
  duplicates: v.number(),
  rejected: v.number(),
  pending: v.number(),
  at: v.number(),
  /** Drift profiles sent in this sync (POST /v1/profiles) and how the edge answered. */
  profiles: v.object({
    sent: v.number(),
    accepted: v.number(),
    duplicates: v.number(),
    capped: v.number(),
    rejected: v.number(),
  }),
});
export type SyncResult = v.InferOutput<typeof SyncResult>;

export const WorkerStatus = v.object({
  v: v.literal(1),
  clientId: v.nullable(v.string()),
  model: v.nullable(
    v.object({
      name: v.string(),
      version: v.number(),
      alias: v.string(),
      /** True after `train` changed the weights on this device (same version number). */
      localFineTune: v.boolean(),
    }),
  ),
  backend: v.nullable(BackendName),
  pending: v.number(),
  lastSync: v.nullable(SyncResult),
  /** The shadow model running beside the served one: predictions compared and agreements since load. */
  shadow: v.optional(v.object({ version: v.number(), predictions: v.number(), agreements: v.number() })),
});
export type WorkerStatus = v.InferOutput<typeof WorkerStatus>;

export const BenchmarkResult = v.object({
  v: v.literal(1),
  backend: BackendName,
  iterations: v.number(),
  /** Mean milliseconds per predict, tfjs called directly inside the worker. */
  directMs: v.number(),
});
export type BenchmarkResult = v.InferOutput<typeof BenchmarkResult>;

/**
 * The worker's comlink surface. The page wraps it with `Comlink.wrap<WorkerApi>`;
 * inputs are validated in the worker with the schemas above, outputs are trusted.
 * `predict` takes 784 floats in [0, 1] (row-major 28×28); pass it transferred, with the app's
 * features in `options.features` when the manifest declares some without a `source`.
 */
export interface WorkerApi {
  init(options: InitOptions): Promise<{ v: 1; clientId: string }>;
  load(options: LoadOptions): Promise<LoadResult>;
  predict(input: Float32Array, options?: PredictOptions): Promise<PredictResult>;
  feedback(predictionId: string, label: number): Promise<void>;
  train(options: TrainOptions, onProgress?: (progress: TrainProgress) => void): Promise<TrainResult>;
  sync(): Promise<SyncResult>;
  status(): Promise<WorkerStatus>;
  benchmark(iterations: number): Promise<BenchmarkResult>;
}
