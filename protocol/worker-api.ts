import * as v from 'valibot';
import type { EraseResult } from './clients.ts';
import { AliasName, ModelName } from './names.ts';
import { FederatedStatus, type ParticipateOptions, type ParticipateResult } from './participate.ts';
import type { FeedbackLabel, ModelInput, PredictOptions, PredictResult, TensorInput } from './predict.ts';
import type { RevertResult, SuggestOptions, SuggestResult, TrainOptions, TrainProgress, TrainResult } from './train.ts';

/** What crosses the page ↔ worker boundary (comlink). Every message type carries `v`. */

/** tfjs's backends, or ONNX Runtime Web's execution providers when the worker runs a version's ONNX export. */
export const BackendName = v.picklist(['webgpu', 'wasm', 'cpu', 'onnx-webgpu', 'onnx-wasm']);
export type BackendName = v.InferOutput<typeof BackendName>;

export const BackendPreference = v.picklist(['auto', 'webgpu', 'wasm', 'cpu']);
export type BackendPreference = v.InferOutput<typeof BackendPreference>;

export const InitOptions = v.strictObject({
  v: v.literal(1),
  endpoint: v.pipe(v.string(), v.url()),
  key: v.pipe(v.string(), v.minLength(1)),
  backend: v.optional(BackendPreference, 'auto'),
  /**
   * What runs the model: `tfjs` (its layers model; can train) or `onnx` (the version's ONNX
   * export on ONNX Runtime Web: predict only; `backend` then picks ORT's WebGPU or wasm EP).
   */
  runtime: v.optional(v.picklist(['tfjs', 'onnx']), 'tfjs'),
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
  /**
   * Most predictions plus outbox rows kept on the device; above it the oldest implicit signals
   * (acknowledged events, then sent predictions' inputs) are dropped. Labels are never dropped.
   */
  maxStoredItems: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 50_000),
  /**
   * Take part in federated rounds on its own: after a sync (at most once a minute, never while
   * predictions wait) the worker asks for the loaded model's open round and, with enough labels,
   * trains locally and sends a clipped weight delta (worker/federated). Off by default;
   * `participate()` works either way.
   */
  federated: v.optional(v.boolean(), false),
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
  /**
   * The device's personal fine-tune: `restored` when one stored for this version serves;
   * `dropped` names the version of one stored for another version, which never serves here
   * (its labels are replayed on this version: a fresh, guarded fine-tune; see `status()`).
   */
  personal: v.optional(v.object({ restored: v.boolean(), dropped: v.optional(v.number()) })),
});
export type LoadResult = v.InferOutput<typeof LoadResult>;

/**
 * Most milliseconds an explanation may be estimated to take unless `budgetMs` says otherwise:
 * the estimate is its forward-pass equivalents times this device's measured time per predict.
 */
export const DEFAULT_EXPLAIN_BUDGET_MS = 30_000;

/**
 * `explain`'s options, for one input of the loaded model. `method`: integrated gradients (tfjs
 * layers models only: they have gradients; the default for them) or occlusion (any format; the
 * default for tfjs-graph and ONNX). `target` is the class explained (default: the predicted
 * one); `steps` integrated gradients' intervals (1–256, checked when it runs; more steps,
 * smaller `gap`); `baseline` the constant input the path starts from or occluded values take
 * (default 0). `budgetMs` bounds the estimated time (default DEFAULT_EXPLAIN_BUDGET_MS): over
 * it, explain refuses up front with TOO_COSTLY and the estimate.
 */
export const ExplainOptions = v.strictObject({
  v: v.literal(1),
  method: v.optional(v.picklist(['integrated-gradients', 'occlusion'])),
  target: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  steps: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  baseline: v.optional(v.pipe(v.number(), v.finite())),
  budgetMs: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0))),
});
export type ExplainOptions = v.InferInput<typeof ExplainOptions>;

/**
 * Per-input-value attributions of the first input (784 for digits, row-major). Integrated
 * gradients: each value's share of `score − baselineScore`, the target's output at the input
 * minus at the baseline, summing to that difference up to `gap` (the integration error). Occlusion:
 * the target score lost when the value's patch is hidden. Nothing is recorded.
 */
export const ExplainResult = v.object({
  v: v.literal(1),
  model: ModelName,
  version: v.number(),
  method: v.picklist(['integrated-gradients', 'occlusion']),
  attributions: v.array(v.number()),
  target: v.number(),
  score: v.number(),
  /** Integrated gradients only: the target's output at the baseline. */
  baselineScore: v.optional(v.number()),
  /** Integrated gradients only: sum(attributions) − (score − baselineScore). */
  gap: v.optional(v.number()),
  /** Integrated gradients only: the integration's intervals. */
  steps: v.optional(v.number()),
  /** What the explanation was estimated to take before it ran, in milliseconds. */
  estimateMs: v.number(),
  backend: BackendName,
  latencyMs: v.number(),
});
export type ExplainResult = v.InferOutput<typeof ExplainResult>;

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
  /**
   * True when another tab held the sync: the counts are that tab's last recorded sync and
   * `pending` is read now from the shared database.
   */
  otherTab: v.optional(v.literal(true)),
});
export type SyncResult = v.InferOutput<typeof SyncResult>;

/** Why a sync runs: the page's call, a retry, the periodic timer, reconnection, page hide, Background Sync. */
export const SyncTrigger = v.picklist(['manual', 'retry', 'timer', 'online', 'pagehide', 'background-sync']);
export type SyncTrigger = v.InferOutput<typeof SyncTrigger>;

/**
 * The automatic sync: `waiting` has a retry scheduled at `nextRetryAt` (ms since the epoch);
 * `other-tab` means another tab holds the sync lock. `lastError` is the last failed sync's
 * error (SEQ_GAP, INVALID_CLIENT_TOKEN and CLIENT_REVOKED are not retried: they need a person).
 */
export const SyncState = v.object({
  state: v.picklist(['idle', 'syncing', 'waiting', 'other-tab']),
  attempts: v.number(),
  nextRetryAt: v.optional(v.number()),
  lastError: v.optional(v.object({ code: v.string(), message: v.string(), at: v.number() })),
  /**
   * The sync running now for this database: events acknowledged so far of those pending when it
   * started, and whether this tab runs it or another context (a tab, the service worker).
   */
  progress: v.optional(v.object({ sent: v.number(), total: v.number(), by: v.picklist(['this-tab', 'other-tab']) })),
});
export type SyncState = v.InferOutput<typeof SyncState>;

const SYNC_TOPIC = 'edgeloop-sync:';

/**
 * A database's sync topic: the BroadcastChannel its syncs report on (to every tab and page) and
 * the Background Sync tag a page registers for it (answered by a service worker).
 *
 * @example
 * new BroadcastChannel(syncTopic('edgeloop')); // 'edgeloop-sync:edgeloop'
 */
export const syncTopic = (dbName: string): string => `${SYNC_TOPIC}${dbName}`;

/** The database a sync topic names, or null for another tag. */
export const dbNameOfTopic = (topic: string): string | null =>
  topic.startsWith(SYNC_TOPIC) && topic.length > SYNC_TOPIC.length ? topic.slice(SYNC_TOPIC.length) : null;

/**
 * What a context that syncs a database posts on its {@link syncTopic}: `started` (with the
 * events pending), `batch` after each acknowledged event batch, then `done` or `failed`
 * (`retryable` when the sync will be tried again: the page then asks for Background Sync).
 * Messages come from other tabs, possibly of another app version: receivers validate them.
 */
export const SyncBroadcast = v.object({
  v: v.literal(1),
  from: v.string(),
  phase: v.picklist(['started', 'batch', 'done', 'failed']),
  sent: v.number(),
  total: v.number(),
  retryable: v.optional(v.boolean()),
  at: v.number(),
});
export type SyncBroadcast = v.InferOutput<typeof SyncBroadcast>;

/**
 * Storage: `persisted` is navigator.storage.persist()'s answer (null where the runtime has no
 * such API); usage/quota come from the last estimate; `dropped` counts what retention removed
 * since the database was created, per kind (acknowledged outbox rows, sent predictions' inputs).
 */
export const StorageState = v.object({
  persisted: v.nullable(v.boolean()),
  usage: v.optional(v.number()),
  quota: v.optional(v.number()),
  dropped: v.object({ outbox: v.number(), inputs: v.number() }),
});
export type StorageState = v.InferOutput<typeof StorageState>;

/**
 * One map of the user's inputs in front of the model's feature layers (worker/train/align.ts):
 * a dihedral `symmetry` (0 none, 1–3 quarter turns, 4–7 mirrors), an optional inversion within
 * the model's input `range`, and ten parameters: rotation (radians), log scale x and y, shear,
 * shift x and y (fractions of the image), log gain and offset (fraction of the range), pen (a mix
 * toward a 3×3 dilation, or erosion when negative) and focus (toward the 3×3 mean, or sharper).
 */
export const InputAlignment = v.object({
  symmetry: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(7)),
  invert: v.boolean(),
  // Stored before the pen and focus existed: eight (both read as 0).
  params: v.pipe(v.array(v.number()), v.minLength(8), v.maxLength(10)),
  range: v.tuple([v.number(), v.number()]),
});
export type InputAlignment = v.InferOutput<typeof InputAlignment>;

/** The personal fine-tune serving on this device (worker/train): what it is built on and how it was judged. */
export const PersonalState = v.object({
  /** The registry version whose weights it extends; it never serves on another version. */
  baseVersion: v.number(),
  createdAt: v.number(),
  examples: v.number(),
  /** How far the personal head may move an answer from the registry's (more labels, more trust). */
  strength: v.number(),
  /** What it learnt (absent: classification, as fine-tunes stored before regression were). */
  task: v.optional(v.picklist(['classification', 'regression'])),
  /**
   * The task's score on the judged examples and on the standard held-out set when it was
   * applied: accuracy, or for a regression model RMSE (lower is better).
   */
  feedbackAccuracy: v.number(),
  holdoutAccuracy: v.number(),
  /** The map of the user's inputs its head reads them through, when one was found. */
  alignment: v.optional(InputAlignment),
  runId: v.optional(v.string()),
});
export type PersonalState = v.InferOutput<typeof PersonalState>;

export const WorkerStatus = v.object({
  v: v.literal(1),
  clientId: v.nullable(v.string()),
  model: v.nullable(
    v.object({
      name: v.string(),
      version: v.number(),
      alias: v.string(),
      /** True while a personal fine-tune serves (same version number; see `personal`). */
      localFineTune: v.boolean(),
      personal: v.nullable(PersonalState),
      /**
       * What last happened to the personal fine-tune besides train and revert, e.g. one built on
       * another version dropped when this version loaded, and whether its replay was applied.
       */
      personalNote: v.optional(v.string()),
    }),
  ),
  backend: v.nullable(BackendName),
  pending: v.number(),
  lastSync: v.nullable(SyncResult),
  /** The shadow model running beside the served one: predictions compared and agreements since load. */
  shadow: v.optional(v.object({ version: v.number(), predictions: v.number(), agreements: v.number() })),
  sync: SyncState,
  storage: StorageState,
  federated: FederatedStatus,
});
export type WorkerStatus = v.InferOutput<typeof WorkerStatus>;

/**
 * `refresh`'s answer: whether the alias now names another version (then loaded and swapped in)
 * and how that was decided: `etag` (the edge answered 304 to If-None-Match) or `version` (the
 * resolved version equals the loaded one).
 */
export const RefreshResult = v.object({
  v: v.literal(1),
  model: ModelName,
  alias: v.string(),
  version: v.number(),
  changed: v.boolean(),
  checkedBy: v.picklist(['etag', 'version']),
  /** The load's result when the version changed. */
  load: v.optional(LoadResult),
});
export type RefreshResult = v.InferOutput<typeof RefreshResult>;

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
 * `predict` takes the model's input (protocol/predict.ts): one typed array, or one per input by
 * name; pass them transferred, with the app's features in `options.features` when the manifest
 * declares some without a `source`. `explain` takes the first input's float values.
 */
export interface WorkerApi {
  /** `clientId` is null until the edge issued one (registration needs the network). */
  init(options: InitOptions): Promise<{ v: 1; clientId: string | null }>;
  load(options: LoadOptions): Promise<LoadResult>;
  predict(input: ModelInput, options?: PredictOptions): Promise<PredictResult>;
  /** Records the true label (class index or name) or value (regression) of an earlier prediction. */
  feedback(predictionId: string, label: FeedbackLabel): Promise<void>;
  /** Integrated gradients or occlusion of the loaded model for one input's float values (bounded by `budgetMs`); records nothing. */
  explain(input: TensorInput, options?: ExplainOptions): Promise<ExplainResult>;
  /**
   * Fine-tunes a personal copy of the model on this device's labels, judged on labels it did not
   * train on; applied (and stored in IndexedDB) only when it is better for the user and costs at
   * most 1 point of standard accuracy relative to the registry weights.
   */
  train(options: TrainOptions, onProgress?: (progress: TrainProgress) => void): Promise<TrainResult>;
  /** Stops the training running or queued now; it rejects with CANCELLED and the served weights stay as they were. */
  cancelTraining(): Promise<void>;
  /** The recorded, unlabelled predictions the model is least sure of: what to ask the user to label. */
  suggest(options?: SuggestOptions): Promise<SuggestResult>;
  /** Removes the personal fine-tune (memory and IndexedDB): the registry weights serve again. */
  revert(): Promise<RevertResult>;
  /**
   * Erases this device: the edge removes everything it holds of the client (its receipt is in
   * the result), then the worker closes and deletes its IndexedDB database. Later calls need a
   * new init. If the edge cannot be reached it rejects and nothing on the device is touched.
   */
  erase(): Promise<EraseResult>;
  sync(): Promise<SyncResult>;
  /**
   * Asks for a sync without waiting for it or failing (page hide, Background Sync): it runs
   * unless a server-requested wait (Retry-After) is in force, and retries on its own.
   */
  requestSync(trigger: SyncTrigger): Promise<void>;
  /** Checks the loaded model's alias on the edge; a new version is loaded and swapped in between predictions. */
  refresh(): Promise<RefreshResult>;
  status(): Promise<WorkerStatus>;
  benchmark(iterations: number): Promise<BenchmarkResult>;
  /**
   * Takes part in the loaded model's open federated round: fine-tunes the round's base on this
   * device's labels (no personal alignment, no gate; a fifth held out from 10 labels on), stores
   * the clipped weight delta in IndexedDB and sends it with a sync. When the edge asks for this
   * device's held-out evaluation of a round it contributed to, that comes first (`evaluated`)
   * and the next call trains. What happened is in the result's `status`.
   */
  participate(options?: ParticipateOptions): Promise<ParticipateResult>;
}
