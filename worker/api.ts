import * as v from 'valibot';
import { EdgeloopError } from '../protocol/errors.ts';
import { ParticipateOptions, type ParticipateResult } from '../protocol/participate.ts';
import { FeedbackLabel, ModelInput, PredictOptions, TensorInput } from '../protocol/predict.ts';
import { SuggestOptions, TrainOptions, type TrainProgress } from '../protocol/train.ts';
import {
  ExplainOptions,
  InitOptions,
  LoadOptions,
  type SyncState,
  SyncTrigger,
  type WorkerApi,
  type WorkerStatus,
} from '../protocol/worker-api.ts';
import type { BackendRegistry } from './backends/registry.ts';
import { tfjsBackends } from './backends/tfjs-backends.ts';
import { benchmark } from './benchmark.ts';
import { type IndexedDbSource, openStore, withStorage } from './db.ts';
import type { FetchLike } from './edge-client.ts';
import { detectEnv, detectSyncPlatform, type RuntimeEnv, type SyncPlatform } from './env.ts';
import { AutoParticipation } from './federated/auto.ts';
import { participate } from './federated/participate.ts';
import { federatedStatus, pendingUpdateCount } from './federated/updates.ts';
import { recordFeedback } from './feedback.ts';
import { explain } from './infer/explain.ts';
import { loadModel } from './infer/load.ts';
import { predict } from './infer/predict.ts';
import { layersOnly } from './infer/predict-only.ts';
import { refreshModel } from './infer/refresh.ts';
import { servingBackend } from './infer/run-model.ts';
import { disposeShadow, shadowStatus } from './infer/shadow.ts';
import { type LoadedModel, newSyncRuntime, type Runtime } from './runtime.ts';
import { serialQueue } from './serial.ts';
import { applyRetention, checkStorage, storageState } from './storage/retention.ts';
import { eraseAtEdge } from './sync/erase.ts';
import { adopt, ensureIdentity } from './sync/identity.ts';
import { pendingCount } from './sync/outbox.ts';
import { SyncProgress } from './sync/progress.ts';
import { syncAll } from './sync/run.ts';
import { type Clock, SyncScheduler, systemClock } from './sync/scheduler.ts';
import { prepareLearning, preparesAhead } from './train/features.ts';
import { releaseModel, revertPersonal } from './train/personal.ts';
import { suggest } from './train/suggest.ts';
import { trainOnFeedback } from './train/train.ts';
import { Trainings } from './train/trainings.ts';
import { parseInput } from './validate.ts';

/** What the worker takes from its surroundings; tests replace them (fake edge, fake-indexeddb). */
export interface WorkerDeps {
  fetch?: FetchLike;
  indexedDB?: IndexedDbSource;
  detectEnv?: () => Promise<RuntimeEnv>;
  backends?: () => BackendRegistry;
  /** The wasm prefix used when `init` names none and there is no script URL (Node). */
  defaultWasmPath?: string;
  /** Web Locks, navigator.storage, gzip, online events; fields given replace the detected ones. */
  platform?: Partial<SyncPlatform>;
  /** Time and randomness for sync retries; tests pass a manual clock. */
  clock?: Clock;
  random?: () => number;
}

/** Recorded writes between two storage checks (estimate + retention) outside syncs. */
const WRITES_PER_STORAGE_CHECK = 200;

const PredictionId = v.pipe(v.string(), v.uuid('must be a prediction id (uuid)'));
const Iterations = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000));

/**
 * Builds the worker's API (what main.ts exposes through comlink). Checks run in this order: calls
 * before `init` throw NOT_INITIALIZED; inputs are validated with the protocol schemas
 * (INVALID_INPUT naming the field); predict/explain/train/benchmark before `load` throw MODEL_NOT_LOADED.
 * `status` works before `init` (all nulls).
 *
 * @example
 * const api = createWorkerApi({ fetch: fakeEdge, indexedDB: { indexedDB, IDBKeyRange } });
 * await api.init({ v: 1, endpoint: 'http://edge.test', key: 'k', backend: 'cpu' });
 */
export function createWorkerApi(deps: WorkerDeps = {}): WorkerApi & { dispose(): Promise<void> } {
  let runtime: Runtime | null = null;
  // Everything that touches the model runs one at a time: load and auto switch the tfjs backend
  // and a predict in between would run there, train changes the weights (a predict would see
  // them half-trained), load disposes the model. Predicts take milliseconds. Syncs queue apart.
  const modelTask = serialQueue();
  const syncTask = serialQueue();
  // One participation at a time (the page's and the automatic one): the second finds the first's update.
  const federatedTask = serialQueue();
  const clock = deps.clock ?? systemClock;
  let scheduler: SyncScheduler | null = null;
  let progress: SyncProgress | null = null;
  let stopOnline: () => void = () => undefined;
  let writes = 0;
  const trainings = new Trainings();
  // The alias moved past a stored fine-tune: its labels train a fresh, guarded one on the new
  // base, in the background (predicts queue behind it as behind any training).
  const replayLabels = (rt: Runtime, model: LoadedModel, base: number): void => {
    const signal = trainings.start();
    const dropped = model.personalNote ?? '';
    modelTask(async () => {
      if (rt.loaded !== model) return;
      const options = v.parse(TrainOptions, { v: 1 });
      try {
        const result = await trainOnFeedback(rt, model, options, {
          signal,
          onProgress: () => undefined,
          replayOf: base,
        });
        model.personalNote = `${dropped}; its labels were replayed on v${model.version}: ${
          result.applied ? 'applied' : `not applied (${result.reasons.join('; ')})`
        }`;
      } catch (error) {
        model.personalNote = `${dropped}; replaying its labels on v${model.version} failed: ${EdgeloopError.from(error)}`;
      }
    })
      .catch(() => undefined)
      .finally(() => trainings.end(signal));
  };

  const ready = (): Runtime => {
    if (!runtime) throw new EdgeloopError('NOT_INITIALIZED', 'call init() first');
    return runtime;
  };
  const loaded = (rt: Runtime): LoadedModel => {
    if (!rt.loaded) throw new EdgeloopError('MODEL_NOT_LOADED', 'call load() first');
    return rt.loaded;
  };
  // Takes part in the loaded model's round as a training (cancelTraining and dispose stop it).
  const takePart = async (rt: Runtime, model: LoadedModel): Promise<ParticipateResult> => {
    const signal = trainings.start();
    try {
      const sync = () => scheduler?.run('manual') ?? Promise.resolve();
      return await participate(rt, model, { modelTask, signal, sync });
    } finally {
      trainings.end(signal);
    }
  };
  const auto = new AutoParticipation(clock, {
    enabled: () => runtime?.options.federated === true && runtime.options.runtime === 'tfjs' && runtime.loaded !== null,
    run: () => {
      const rt = ready();
      const model = loaded(rt);
      return federatedTask(() => takePart(rt, model));
    },
  });
  // After each recorded event: a periodic sync is due, and now and then storage is checked.
  const recorded = (rt: Runtime): void => {
    scheduler?.notePending();
    if (++writes % WRITES_PER_STORAGE_CHECK === 0) applyRetention(rt, { force: false }).catch(() => undefined);
  };
  const dispose = async (): Promise<void> => {
    scheduler?.dispose();
    stopOnline();
    await scheduler?.settled();
    scheduler = null;
    progress?.close();
    progress = null;
    trainings.cancelAll();
    if (runtime?.loaded) releaseModel(runtime.loaded);
    if (runtime) disposeShadow(runtime);
    runtime?.db.close();
    runtime = null;
  };

  return {
    async init(raw) {
      const options = parseInput(InitOptions, raw, 'options');
      const env = await (deps.detectEnv ?? detectEnv)();
      const backendConfig = { wasmPath: wasmPath(options.wasmPath, env, deps.defaultWasmPath) };
      const backends = (deps.backends ?? tfjsBackends)();
      // An explicit backend is checked now, so a wrong choice fails at init rather than at load.
      // ONNX Runtime picks its own execution provider when the model loads.
      if (options.backend !== 'auto' && options.runtime !== 'onnx') {
        await backends.activate(options.backend, env, backendConfig);
      }
      const { db, identity, lastSync } = await openStore(options.dbName, env, deps.indexedDB);
      const fetchFn = deps.fetch ?? globalThis.fetch.bind(globalThis);
      const platform: SyncPlatform = { ...detectSyncPlatform(), ...deps.platform };
      await dispose();
      const rt: Runtime = {
        ...newSyncRuntime(options, db, platform, fetchFn),
        env,
        resolveEtags: new Map(),
        backends,
        backendConfig,
        loaded: null,
        shadow: null,
        lastSync,
      };
      if (identity) adopt(rt, identity);
      runtime = rt;
      // What a service worker needs to sync this database while no tab is open (sync/background.ts).
      await withStorage('store sync options', () => db.meta.put({ key: 'syncOptions', value: options }));
      const reporter = new SyncProgress(platform, options.dbName, rt.tabId, () => clock.now());
      progress = reporter;
      const synced = async () => {
        const result = await syncTask(() => syncAll(rt, () => clock.now(), reporter));
        auto.synced();
        return result;
      };
      const sync = new SyncScheduler(synced, { clock, random: deps.random ?? Math.random });
      scheduler = sync;
      stopOnline = platform.onOnline(() => sync.request('online'));
      // Offline-first: neither registration nor the storage check may fail or delay init for long.
      await checkStorage(rt).catch(() => undefined);
      if (platform.online()) await ensureIdentity(rt).catch(() => undefined);
      const waiting = (await withStorage('count outbox', () => pendingCount(db))) + (await pendingUpdateCount(db));
      if (waiting > 0) sync.notePending();
      return { v: 1, clientId: rt.identity?.clientId ?? null };
    },

    async load(raw) {
      const rt = ready();
      const request = parseInput(LoadOptions, raw, 'options');
      // The first load online registers, so resolve buckets by the issued id; load fails offline anyway.
      await ensureIdentity(rt).catch(() => undefined);
      const result = await modelTask(() => loadModel(rt, request));
      const dropped = result.personal?.dropped;
      if (dropped !== undefined && rt.loaded) replayLabels(rt, rt.loaded, dropped);
      return result;
    },

    async refresh() {
      const rt = ready();
      loaded(rt);
      return modelTask(async () => refreshModel(rt, loaded(rt)));
    },

    async predict(input, raw) {
      const rt = ready();
      const checked = parseInput(ModelInput, input, 'input');
      const { features } = parseInput(PredictOptions, raw ?? {}, 'options');
      const result = await auto.around(() => modelTask(async () => predict(rt, loaded(rt), checked, features)));
      recorded(rt);
      return result;
    },

    async explain(input, raw) {
      const rt = ready();
      const pixels = parseInput(TensorInput, input, 'input');
      const options = parseInput(ExplainOptions, raw ?? { v: 1 }, 'options');
      return modelTask(async () => explain(rt, loaded(rt), pixels, options));
    },

    async feedback(predictionId, label) {
      const rt = ready();
      const id = parseInput(PredictionId, predictionId, 'predictionId');
      await recordFeedback(rt, id, parseInput(FeedbackLabel, label, 'label'));
      recorded(rt);
      // A label makes a fine-tune likely: its one-time preparation runs now, queued like a
      // training (a predict waits behind it once, not the fine-tune later).
      const model = rt.loaded;
      if (model && !model.learning && !model.onnx && !model.graph && preparesAhead(model)) {
        modelTask(async () => {
          if (rt.loaded === model) await prepareLearning(rt, model);
        }).catch(() => undefined);
      }
    },

    async train(raw, onProgress) {
      const rt = ready();
      const options = parseInput(TrainOptions, raw, 'options');
      layersOnly(rt, 'train');
      if (onProgress !== undefined && typeof onProgress !== 'function') {
        throw new EdgeloopError('INVALID_INPUT', 'onProgress: must be a function (wrap it in Comlink.proxy)');
      }
      const report = (progress: TrainProgress): void => {
        // Progress is advisory: a page that went away must not fail the training.
        Promise.resolve()
          .then(() => onProgress?.(progress))
          .catch(() => undefined);
      };
      // The run recorded on the edge is a write: it needs the client token (best effort, offline is fine).
      if (rt.platform.online()) await ensureIdentity(rt).catch(() => undefined);
      const signal = trainings.start();
      try {
        return await modelTask(() => trainOnFeedback(rt, loaded(rt), options, { signal, onProgress: report }));
      } finally {
        trainings.end(signal);
      }
    },

    async participate(raw) {
      const rt = ready();
      parseInput(ParticipateOptions, raw ?? { v: 1 }, 'options');
      layersOnly(rt, 'participate');
      const model = loaded(rt);
      return federatedTask(() => takePart(rt, model));
    },

    async cancelTraining() {
      trainings.cancelAll();
    },

    async suggest(raw) {
      const rt = ready();
      const options = parseInput(SuggestOptions, raw ?? { v: 1 }, 'options');
      return modelTask(async () => suggest(rt, loaded(rt), options));
    },

    async revert() {
      const rt = ready();
      layersOnly(rt, 'revert');
      return modelTask(async () => {
        const model = loaded(rt);
        const reverted = await revertPersonal(rt, model);
        model.personalNote = reverted ? 'reverted to the registry weights' : model.personalNote;
        return { v: 1, model: model.name, version: model.version, reverted };
      });
    },

    async sync() {
      ready();
      if (!scheduler) throw new EdgeloopError('NOT_INITIALIZED', 'call init() first');
      return scheduler.run('manual');
    },

    async erase() {
      const rt = ready();
      // Queued with syncs, so none is sending while the edge erases (it revokes the client first).
      const receipt = await syncTask(() => eraseAtEdge(rt));
      const database = rt.options.dbName;
      const db = rt.db;
      await dispose();
      await withStorage('delete the database', () => db.delete());
      return { v: 1, edge: receipt, device: { database, deleted: true } };
    },

    async requestSync(trigger) {
      ready();
      scheduler?.request(parseInput(SyncTrigger, trigger, 'trigger'));
    },

    async status(): Promise<WorkerStatus> {
      if (!runtime) {
        return {
          v: 1,
          clientId: null,
          model: null,
          backend: null,
          pending: 0,
          lastSync: null,
          sync: { state: 'idle', attempts: 0 },
          storage: { persisted: null, dropped: { outbox: 0, inputs: 0 } },
          federated: { enabled: false, lastRound: null },
        };
      }
      const { db, identity, loaded: model, backends, lastSync } = runtime;
      const pending = await withStorage('count outbox', () => pendingCount(db));
      const shadow = shadowStatus(runtime.shadow);
      return {
        v: 1,
        clientId: identity?.clientId ?? null,
        model: model
          ? {
              name: model.name,
              version: model.version,
              alias: model.alias,
              localFineTune: model.personal !== null,
              personal: model.personal?.state ?? null,
              ...(model.personalNote ? { personalNote: model.personalNote } : {}),
            }
          : null,
        backend: model ? servingBackend(backends, model) : backends.active,
        pending,
        lastSync,
        ...(shadow ? { shadow } : {}),
        sync: syncState(scheduler, progress),
        storage: await storageState(runtime),
        federated: await federatedStatus(db, runtime.options.federated),
      };
    },

    async benchmark(iterations) {
      const rt = ready();
      const runs = parseInput(Iterations, iterations, 'iterations');
      return modelTask(async () => benchmark(rt, loaded(rt), runs));
    },

    dispose,
  };
}

/** The wasm files' URL prefix: the init option (resolved against the worker's URL), else /tfjs/. */
function wasmPath(option: string | undefined, env: RuntimeEnv, fallback: string | undefined): string {
  if (env.scriptUrl) return new URL(option ?? '/tfjs/', env.scriptUrl).href;
  return option ?? fallback ?? '/tfjs/';
}

/** The scheduler's state with the progress of the sync running now, here or in another context. */
function syncState(scheduler: SyncScheduler | null, progress: SyncProgress | null): SyncState {
  const state = scheduler?.snapshot() ?? { state: 'idle', attempts: 0 };
  const now = progress?.view();
  return now ? { ...state, progress: now } : state;
}
