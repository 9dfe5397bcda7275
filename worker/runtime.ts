import type { GraphModel } from '@tensorflow/tfjs-converter';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as v from 'valibot';
import type { VersionInfo } from '../protocol/registry.ts';
import type { BackendReport, InitOptions, SyncResult } from '../protocol/worker-api.ts';
import type { BackendConfig, BackendRegistry } from './backends/registry.ts';
import type { EdgeloopDb, StoredIdentity } from './db.ts';
import { EdgeClient, type FetchLike } from './edge-client.ts';
import type { RuntimeEnv, SyncPlatform } from './env.ts';
import type { OnnxSession } from './infer/onnx.ts';
import type { Signature } from './infer/run-model.ts';
import type { ShadowModel } from './infer/shadow.ts';
import { type ProfileCache, profileCache } from './profile/record.ts';
import type { LearningCache } from './train/features.ts';
import type { HeadSplit } from './train/head.ts';
import type { Personal } from './train/personal.ts';

/** A model ready to predict, with what it was loaded from. */
export interface LoadedModel {
  name: string;
  alias: string;
  version: number;
  info: VersionInfo;
  /**
   * What predicts run: the registry weights, or with a personal fine-tune the model that mixes
   * them with the personal head (train/head.ts). For a graph or ONNX model a stand-in that
   * refuses calls only layers models take (infer/predict-only.ts).
   */
  model: tfl.LayersModel;
  /** The registry version's own model, whatever serves. */
  registry: tfl.LayersModel;
  /** The manifest's inputs and outputs (names, dtypes, order): what predicts are checked against. */
  signature: Signature;
  /** The ORT session predicts run on: format onnx, or init `runtime: 'onnx'`. */
  onnx?: OnnxSession;
  /** A tfjs-graph version's model: predicts execute it (`model` is then a stand-in). */
  graph?: GraphModel;
  /** Input shape without the batch dimension, e.g. [28, 28, 1]. */
  inputShape: number[];
  /** Number of floats one input holds (784 for digits). */
  inputSize: number;
  classes: number;
  backend: BackendReport;
  /** The personal fine-tune serving now; null for the registry weights alone. */
  personal: Personal | null;
  /** The registry model seen as features → head, found by the first fine-tune (train/head.ts). */
  head?: HeadSplit;
  /** What last happened to the personal fine-tune besides train and revert (status().model.personalNote). */
  personalNote?: string;
  /**
   * What fine-tunes of this version reuse (train/features.ts), built once: in the background
   * after a label is recorded, or by the first fine-tune.
   */
  learning?: Promise<LearningCache>;
}

/** Everything an initialised worker holds; feature modules receive it instead of globals. */
export interface Runtime {
  options: v.InferOutput<typeof InitOptions>;
  db: EdgeloopDb;
  /**
   * The edge-issued id, '' until registration (sync/identity.ts) sets it together with
   * `identity`; kept a string for callers that only label things with it (training runs).
   */
  clientId: string;
  identity: StoredIdentity | null;
  edge: EdgeClient;
  env: RuntimeEnv;
  platform: SyncPlatform;
  /** Random per worker: the owner of an IndexedDB sync lease (see sync/lock.ts). */
  tabId: string;
  /** The last storage estimate and persist() answer (see storage/retention.ts). */
  storage: { persisted: boolean | null; usage?: number; quota?: number };
  /** The ETag of the last resolve per `model/alias`, sent back as If-None-Match by refresh. */
  resolveEtags: Map<string, string>;
  backends: BackendRegistry;
  backendConfig: BackendConfig;
  loaded: LoadedModel | null;
  /** The rollout's shadow version, run beside `loaded` on every predict; null when none. */
  shadow: ShadowModel | null;
  lastSync: SyncResult | null;
  /** The open drift profiles last written, so a predict need not read its profile back. */
  profiles: ProfileCache;
}

/**
 * What syncing needs: a runtime without a model. A service worker builds one to sync in the
 * background (sync/background.ts), with no tfjs loaded.
 */
export type SyncRuntime = Pick<
  Runtime,
  'options' | 'db' | 'clientId' | 'identity' | 'edge' | 'platform' | 'tabId' | 'storage' | 'lastSync' | 'profiles'
>;

/**
 * A fresh sync runtime for `options`: no identity yet (adopt one read from the database), an
 * EdgeClient that gzips where the platform can, a new tab id.
 *
 * @example
 * const runtime = newSyncRuntime(options, db, detectSyncPlatform(), fetch);
 */
export function newSyncRuntime(
  options: SyncRuntime['options'],
  db: EdgeloopDb,
  platform: SyncPlatform,
  fetchFn: FetchLike,
): SyncRuntime {
  return {
    options,
    db,
    clientId: '',
    identity: null,
    edge: new EdgeClient(options.endpoint, options.key, fetchFn, { gzip: platform.gzip }),
    platform,
    tabId: crypto.randomUUID(),
    storage: { persisted: null },
    lastSync: null,
    profiles: profileCache(),
  };
}
