import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { Manifest } from '../../protocol/manifest.ts';
import type { BackendPreference, InitOptions } from '../../protocol/worker-api.ts';
import { createWorkerApi, type WorkerDeps } from '../api.ts';
import { EdgeloopDb, type IndexedDbSource } from '../db.ts';
import { manualClock } from './clock.ts';
import { FakeEdge } from './fake-edge.ts';
import { NODE_WASM_PATH } from './node-files.ts';
import { tinyModelFiles } from './tiny-model.ts';

export const ENDPOINT = 'http://edge.test';
const DB_NAME = 'edgeloop-test';

/**
 * A worker API wired to a fresh fake edge and a fresh in-memory IndexedDB, already initialised.
 * `db()` opens a second connection to the same database so tests can look inside. Time is a
 * manual clock (`clock.advance`), randomness `random` (0.5 unless given), and the platform has
 * no Web Locks, storage manager or gzip unless `deps.platform` gives them.
 */
export async function startWorker(
  options: {
    backend?: BackendPreference;
    edge?: FakeEdge;
    init?: Partial<InitOptions>;
    deps?: Partial<WorkerDeps>;
    storage?: IndexedDbSource;
  } = {},
) {
  const edge = options.edge ?? new FakeEdge();
  const storage: IndexedDbSource = options.storage ?? { indexedDB: new IDBFactory(), IDBKeyRange };
  const clock = manualClock();
  const api = createWorkerApi({
    fetch: edge.fetch,
    indexedDB: storage,
    defaultWasmPath: NODE_WASM_PATH,
    clock,
    random: () => 0.5,
    ...options.deps,
    platform: {
      locks: null,
      storage: null,
      gzip: null,
      online: () => true,
      onOnline: () => () => undefined,
      broadcast: null,
      ...options.deps?.platform,
    },
  });
  const { clientId } = await api.init({
    v: 1,
    endpoint: ENDPOINT,
    key: edge.key,
    backend: options.backend ?? 'cpu',
    dbName: DB_NAME,
    ...options.init,
  });
  return { api, edge, clientId, storage, clock, db: () => new EdgeloopDb(DB_NAME, storage) };
}

/** Publishes the tiny test model as digits v1 (alias production) on the edge; `manifest` overrides its manifest's fields. */
export async function publishTinyModel(edge: FakeEdge, version = 1, manifest?: Partial<Manifest>): Promise<void> {
  await tf.setBackend('cpu');
  await edge.publish('digits', version, await tinyModelFiles(), manifest);
}

/** A worker (startWorker) with the tiny model published on a fresh fake edge and loaded as digits. */
export async function startLoadedWorker() {
  const edge = new FakeEdge();
  await publishTinyModel(edge);
  const worker = await startWorker({ edge });
  await worker.api.load({ v: 1, model: 'digits' });
  return worker;
}

/** A valid input: 784 floats in [0, 1]. */
export function pixels(seed = 0): Float32Array {
  return Float32Array.from({ length: 784 }, (_, i) => ((i * 7 + seed * 13) % 255) / 255);
}
