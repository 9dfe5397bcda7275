import * as v from 'valibot';
import { EdgeloopError } from '../protocol/errors.ts';
import {
  InitOptions,
  LoadOptions,
  PredictOptions,
  type SyncResult,
  TrainOptions,
  type TrainProgress,
  type WorkerApi,
  type WorkerStatus,
} from '../protocol/worker-api.ts';
import type { BackendRegistry } from './backends/registry.ts';
import { tfjsBackends } from './backends/tfjs-backends.ts';
import { benchmark } from './benchmark.ts';
import { EdgeloopDb, ensureClientId, type IndexedDbSource, withStorage } from './db.ts';
import { EdgeClient, type FetchLike } from './edge-client.ts';
import { detectEnv, type RuntimeEnv } from './env.ts';
import { recordFeedback } from './feedback.ts';
import { loadModel } from './infer/load.ts';
import { predict } from './infer/predict.ts';
import { disposeShadow, shadowStatus } from './infer/shadow.ts';
import { profileCache } from './profile/record.ts';
import { syncProfiles } from './profile/sync.ts';
import type { LoadedModel, Runtime } from './runtime.ts';
import { serialQueue } from './serial.ts';
import { pendingCount } from './sync/outbox.ts';
import { syncOutbox } from './sync/sync.ts';
import { trainOnFeedback } from './train/train.ts';
import { parseInput } from './validate.ts';

/** What the worker takes from its surroundings; tests replace them (fake edge, fake-indexeddb). */
export interface WorkerDeps {
  fetch?: FetchLike;
  indexedDB?: IndexedDbSource;
  detectEnv?: () => Promise<RuntimeEnv>;
  backends?: () => BackendRegistry;
  /** The wasm prefix used when `init` names none and there is no script URL (Node). */
  defaultWasmPath?: string;
}

const PredictInput = v.instance(Float32Array, 'must be a Float32Array');
const PredictionId = v.pipe(v.string(), v.uuid('must be a prediction id (uuid)'));
const Label = v.pipe(v.number(), v.integer('must be an integer'), v.minValue(0, 'must be ≥ 0'));
const Iterations = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000));

/**
 * Builds the worker's API (what main.ts exposes through comlink). Checks run in this order: calls
 * before `init` throw NOT_INITIALIZED; inputs are validated with the protocol schemas
 * (INVALID_INPUT naming the field); predict/train/benchmark before `load` throw MODEL_NOT_LOADED.
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

  const ready = (): Runtime => {
    if (!runtime) throw new EdgeloopError('NOT_INITIALIZED', 'call init() first');
    return runtime;
  };
  const loaded = (rt: Runtime): LoadedModel => {
    if (!rt.loaded) throw new EdgeloopError('MODEL_NOT_LOADED', 'call load() first');
    return rt.loaded;
  };
  const dispose = async (): Promise<void> => {
    runtime?.loaded?.model.dispose();
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
      if (options.backend !== 'auto') await backends.activate(options.backend, env, backendConfig);
      const { db, clientId, lastSync } = await openStore(options.dbName, env, deps.indexedDB);
      const fetchFn = deps.fetch ?? globalThis.fetch.bind(globalThis);
      await dispose();
      runtime = {
        options,
        db,
        clientId,
        edge: new EdgeClient(options.endpoint, options.key, fetchFn),
        env,
        backends,
        backendConfig,
        loaded: null,
        shadow: null,
        lastSync,
        profiles: profileCache(),
      };
      return { v: 1, clientId };
    },

    async load(raw) {
      const rt = ready();
      const request = parseInput(LoadOptions, raw, 'options');
      return modelTask(() => loadModel(rt, request));
    },

    async predict(input, raw) {
      const rt = ready();
      const pixels = parseInput(PredictInput, input, 'input');
      const { features } = parseInput(PredictOptions, raw ?? {}, 'options');
      return modelTask(async () => predict(rt, loaded(rt), pixels, features));
    },

    async feedback(predictionId, label) {
      const rt = ready();
      const id = parseInput(PredictionId, predictionId, 'predictionId');
      await recordFeedback(rt, id, parseInput(Label, label, 'label'));
    },

    async train(raw, onProgress) {
      const rt = ready();
      const options = parseInput(TrainOptions, raw, 'options');
      if (onProgress !== undefined && typeof onProgress !== 'function') {
        throw new EdgeloopError('INVALID_INPUT', 'onProgress: must be a function (wrap it in Comlink.proxy)');
      }
      const report = (progress: TrainProgress): void => {
        // Progress is advisory: a page that went away must not fail the training.
        Promise.resolve()
          .then(() => onProgress?.(progress))
          .catch(() => undefined);
      };
      return modelTask(() => trainOnFeedback(rt, loaded(rt), options, report));
    },

    async sync() {
      const rt = ready();
      // Events first, then profiles: a failed event sync leaves the profiles for the next one.
      return syncTask(async () => {
        const events = await syncOutbox(rt);
        const result: SyncResult = { ...events, profiles: await syncProfiles(rt) };
        await withStorage('record sync', () => rt.db.meta.put({ key: 'lastSync', value: result }));
        rt.lastSync = result;
        return result;
      });
    },

    async status(): Promise<WorkerStatus> {
      if (!runtime) return { v: 1, clientId: null, model: null, backend: null, pending: 0, lastSync: null };
      const { db, clientId, loaded: model, backends, lastSync } = runtime;
      const pending = await withStorage('count outbox', () => pendingCount(db));
      const shadow = shadowStatus(runtime.shadow);
      return {
        v: 1,
        clientId,
        model: model
          ? { name: model.name, version: model.version, alias: model.alias, localFineTune: model.fineTuned }
          : null,
        backend: backends.active,
        pending,
        lastSync,
        ...(shadow ? { shadow } : {}),
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

const NO_PROFILES: SyncResult['profiles'] = { sent: 0, accepted: 0, duplicates: 0, capped: 0, rejected: 0 };

/** The wasm files' URL prefix: the init option (resolved against the worker's URL), else /tfjs/. */
function wasmPath(option: string | undefined, env: RuntimeEnv, fallback: string | undefined): string {
  if (env.scriptUrl) return new URL(option ?? '/tfjs/', env.scriptUrl).href;
  return option ?? fallback ?? '/tfjs/';
}

/** Opens the IndexedDB store and reads what survives restarts: the client id and the last sync. */
async function openStore(name: string, env: RuntimeEnv, source: IndexedDbSource | undefined) {
  if (!source && !env.indexedDB) throw new EdgeloopError('STORAGE', 'IndexedDB is not available in this runtime');
  const db = new EdgeloopDb(name, source);
  try {
    const clientId = await ensureClientId(db);
    const lastSync = await withStorage('read last sync', () => db.meta.get('lastSync'));
    // A sync recorded before profiles existed has no `profiles`: report it as none sent.
    const stored: (Omit<SyncResult, 'profiles'> & Partial<SyncResult>) | null =
      lastSync?.key === 'lastSync' ? lastSync.value : null;
    return { db, clientId, lastSync: stored && { ...stored, profiles: stored.profiles ?? NO_PROFILES } };
  } catch (error) {
    db.close();
    throw error;
  }
}
