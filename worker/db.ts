import { Dexie, type DexieOptions, type EntityTable } from 'dexie';
import { EdgeloopError } from '../protocol/errors.ts';
import type { Event, FeatureValue } from '../protocol/events.ts';
import type { TensorData } from '../protocol/oip-tensor.ts';
import type { UpdateState } from '../protocol/participate.ts';
import type { Profile } from '../protocol/profile/schema.ts';
import type { BackendName, InitOptions, PersonalState, SyncResult } from '../protocol/worker-api.ts';
import type { RuntimeEnv } from './env.ts';
import type { StoredWeight } from './train/head.ts';

/** A prediction made on this device; its input stays here (it is not sent with the event). */
export interface PredictionRow {
  id: string;
  ts: number;
  model: string;
  version: number;
  /** The first input's values (what fine-tunes learn from and drift features read). */
  input: Float32Array;
  /** Every input by name, for a model of several. */
  inputs?: Record<string, TensorData>;
  outputs: number[];
  label: number;
  backend: BackendName;
  latencyMs: number;
  /** The shadow version's label for the same input and whether it agreed (absent without a shadow). */
  shadow?: { version: number; label: number; agree: boolean };
  /** The features the app supplied with the prediction (absent when it gave none). */
  features?: Record<string, FeatureValue>;
}

/**
 * A label the user gave: a class index, or a regression model's true value. `seq` is the outbox
 * sequence of its event, which orders corrections.
 */
export type FeedbackRow = {
  id: string;
  predictionId: string;
  ts: number;
  seq: number;
} & ({ label: number; value?: undefined } | { value: number; label?: undefined });

export type OutboxState = 'pending' | 'sent' | 'rejected';

/** An event waiting for (or past) the edge's acknowledgement. */
export interface OutboxRow {
  seq: number;
  event: Event;
  state: OutboxState;
  /** Set when the edge acknowledged or rejected the event. */
  settledAt?: number;
  rejection?: { code: string; message: string };
}

/** A model artifact cached by content: the key is its sha256. */
export interface FileRow {
  sha256: string;
  bytes: ArrayBuffer;
  size: number;
  storedAt: number;
}

/**
 * `open` takes predictions and feedback for its (model, version, hour); `sealed` waits to be
 * sent; `sent` and `rejected` are settled by the edge and never sent again.
 */
export type ProfileState = 'open' | 'sealed' | 'sent' | 'rejected';

/** A profile of one (model, version, hour) window as this device keeps it. */
export interface StoredProfile {
  id: string;
  model: string;
  version: number;
  /** The hour's start in ms since the epoch (a multiple of WINDOW_MS). */
  window: number;
  state: ProfileState;
  profile: Profile;
  /** Predictions profiled (`profile.count`), kept apart so listings need not read the profile. */
  rows: number;
  updatedAt: number;
  rejection?: { code: string; message: string };
}

/** What the edge issued at registration (`POST /v1/clients`); the token authorises writes. */
export interface StoredIdentity {
  clientId: string;
  token: string;
  registeredAt: number;
}

/**
 * A personal fine-tune as this device keeps it (worker/train/personal.ts): one per model name,
 * served only on `state.baseVersion`. Weights layer by layer, as the head and gate read them.
 */
export interface StoredPersonal {
  model: string;
  state: PersonalState;
  head: StoredWeight[];
  gate: StoredWeight[];
  /** The prediction ids of the labels it trained on (it is never judged on them again). */
  trainedOn: string[];
}

/**
 * A federated update this device trained for a round (worker/federated): one per model and
 * round, stored before it is sent, so a retry sends the same bytes and a round is never trained
 * for twice. `bytes` (the clipped delta, float32 little-endian) is kept until the edge settles it.
 */
export interface UpdateRow {
  /** `${model}/${roundId}`. */
  id: string;
  model: string;
  roundId: string;
  baseVersion: number;
  bytes: ArrayBuffer | null;
  /** The examples it trained on (`Edgeloop-Examples`), the held-out ones not counted. */
  examples: number;
  /** L2 norm of the delta before clipping, the round's clip norm and whether it was clipped. */
  norm: number;
  clipNorm: number;
  clipped: boolean;
  state: UpdateState;
  createdAt: number;
  /** Set when the edge acknowledged (`duplicate`: it had the same bytes already) or refused it. */
  settledAt?: number;
  duplicate?: boolean;
  rejection?: { code: string; message: string };
  /** Prediction ids held out of the fit (absent or empty: none, below 10 examples); the candidate is judged on them. */
  heldOut?: string[];
  /** The held-out evaluation of the round's candidate, stored before it is sent: a retry sends these counts. */
  evaluation?: StoredEvaluation;
}

/** Counts of a held-out evaluation (protocol/rounds.ts `Evaluation`) and what the edge made of them. */
export interface StoredEvaluation {
  examples: number;
  baseCorrect: number;
  candidateCorrect: number;
  state: UpdateState;
  createdAt: number;
  settledAt?: number;
  duplicate?: boolean;
  rejection?: { code: string; message: string };
}

export type MetaRow =
  /** Legacy: the id a device generated itself before the edge issued ids; replaced by `identity`. */
  | { key: 'clientId'; value: string }
  | { key: 'identity'; value: StoredIdentity }
  /** What retention dropped so far, per kind (reported in status: drops are never silent). */
  | { key: 'dropped'; value: { outbox: number; inputs: number } }
  /** navigator.storage.persist()'s answer, asked once per database. */
  | { key: 'persisted'; value: boolean }
  /** The sync lease where Web Locks are missing: one tab syncs until `expiresAt`. */
  | { key: 'syncLease'; value: { owner: string; expiresAt: number } }
  | { key: 'nextSeq'; value: number }
  | { key: 'lastSync'; value: SyncResult }
  /** Changes with every write to an open profile or seal, so a cached open profile can be trusted (see profile/record.ts). */
  | { key: 'profileRev'; value: string }
  /** The init options of the last worker, for a service worker that syncs with no tab open (sync/background.ts). */
  | { key: 'syncOptions'; value: InitOptions }
  /** Whether WebGPU's gradients matched cpu's on this device's adapter (worker/train/gradient-check.ts). */
  | { key: 'gradientCheck'; value: { adapter: string; ok: boolean; maxError: number; at: number } };

/** Where to find IndexedDB; tests pass fake-indexeddb's. */
export type IndexedDbSource = Pick<DexieOptions, 'indexedDB' | 'IDBKeyRange'>;

/**
 * The worker's IndexedDB store. Schema versions only ever add: never edit a released
 * `version(n)`; declare `version(n + 1)` with the new tables or indexes.
 *
 * @example
 * import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
 * const db = new EdgeloopDb('test', { indexedDB, IDBKeyRange });
 */
export class EdgeloopDb extends Dexie {
  predictions!: EntityTable<PredictionRow, 'id'>;
  feedback!: EntityTable<FeedbackRow, 'id'>;
  outbox!: EntityTable<OutboxRow, 'seq'>;
  files!: EntityTable<FileRow, 'sha256'>;
  meta!: EntityTable<MetaRow, 'key'>;
  profiles!: EntityTable<StoredProfile, 'id'>;
  personal!: EntityTable<StoredPersonal, 'model'>;
  updates!: EntityTable<UpdateRow, 'id'>;

  constructor(name: string, source: IndexedDbSource = {}) {
    super(name, source);
    this.version(1).stores({
      predictions: 'id, ts, model',
      feedback: 'id, predictionId',
      // An index yields equal keys in primary-key order, so where('state').equals('pending') is seq order.
      outbox: 'seq, state',
      files: 'sha256',
      meta: 'key',
    });
    // v2: drift profiles. The compound indexes find the open profile of (model, version, hour)
    // and the sealed ones, oldest window first.
    this.version(2).stores({ profiles: 'id, [model+version+window+state], [state+window]' });
    // v3: the personal fine-tune of each model.
    this.version(3).stores({ personal: 'model' });
    // v4: federated updates; pending ones are found by state, the last one by creation time.
    this.version(4).stores({ updates: 'id, state, createdAt' });
  }
}

/**
 * Runs storage work and maps Dexie/IndexedDB failures to STORAGE, once, here. EdgeloopErrors
 * thrown inside (e.g. UNKNOWN_PREDICTION from a transaction) pass through unchanged.
 *
 * @example
 * const rows = await withStorage('read feedback', () => db.feedback.toArray());
 */
export async function withStorage<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw storageError(what, error);
  }
}

function storageError(what: string, error: unknown): EdgeloopError {
  if (error instanceof EdgeloopError) return error;
  // Dexie wraps the browser's QuotaExceededError in an AbortError when a transaction dies of it.
  const chain: unknown[] = [];
  for (let e: unknown = error; e && chain.length < 5; e = (e as { inner?: unknown }).inner) chain.push(e);
  if (chain.some((e) => (e as { name?: unknown }).name === 'QuotaExceededError')) {
    return new EdgeloopError('STORAGE', `${what}: storage quota exceeded`, { cause: error });
  }
  const innermost = chain.at(-1) as { name?: unknown; message?: unknown } | undefined;
  const name = typeof innermost?.name === 'string' ? innermost.name : 'Error';
  const message = typeof innermost?.message === 'string' ? innermost.message : String(error);
  return new EdgeloopError('STORAGE', `${what}: ${name}: ${message}`, { cause: error });
}

/**
 * True when `error` (or what it wraps: Dexie nests the browser's error in `inner`, and
 * withStorage keeps it as the STORAGE error's cause) is a QuotaExceededError.
 *
 * @example
 * if (isQuotaError(error)) await applyRetention(runtime, { force: true });
 */
export function isQuotaError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 8; depth++) {
    if ((e as { name?: unknown }).name === 'QuotaExceededError') return true;
    const next = e as { inner?: unknown; cause?: unknown };
    e = next.inner ?? next.cause;
  }
  return false;
}

/**
 * The identity the edge issued to this database, or null before registration.
 *
 * @example
 * const identity = await readIdentity(db); // { clientId: 'c_…', token: '…', registeredAt } | null
 */
export async function readIdentity(db: EdgeloopDb): Promise<StoredIdentity | null> {
  const row = await withStorage('read identity', () => db.meta.get('identity'));
  return row?.key === 'identity' ? row.value : null;
}

const NO_PROFILES: SyncResult['profiles'] = { sent: 0, accepted: 0, duplicates: 0, capped: 0, rejected: 0 };

/**
 * Opens the IndexedDB store and reads what survives restarts: the issued identity and the last sync.
 *
 * @example
 * const { db, identity, lastSync } = await openStore('edgeloop', env, undefined);
 */
export async function openStore(name: string, env: Pick<RuntimeEnv, 'indexedDB'>, source: IndexedDbSource | undefined) {
  if (!source && !env.indexedDB) throw new EdgeloopError('STORAGE', 'IndexedDB is not available in this runtime');
  const db = new EdgeloopDb(name, source);
  try {
    const identity = await readIdentity(db);
    const lastSync = await withStorage('read last sync', () => db.meta.get('lastSync'));
    // A sync recorded before profiles existed has no `profiles`: report it as none sent.
    const stored: (Omit<SyncResult, 'profiles'> & Partial<SyncResult>) | null =
      lastSync?.key === 'lastSync' ? lastSync.value : null;
    return { db, identity, lastSync: stored && { ...stored, profiles: stored.profiles ?? NO_PROFILES } };
  } catch (error) {
    db.close();
    throw error;
  }
}
