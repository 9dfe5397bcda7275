import * as v from 'valibot';
import { dbNameOfTopic, InitOptions, type SyncResult } from '../../protocol/worker-api.ts';
import { EdgeloopDb, type IndexedDbSource, readIdentity, withStorage } from '../db.ts';
import type { FetchLike } from '../edge-client.ts';
import { detectSyncPlatform, type SyncPlatform } from '../env.ts';
import { newSyncRuntime } from '../runtime.ts';
import { adopt } from './identity.ts';
import { SyncProgress } from './progress.ts';
import { isRetryable } from './retry.ts';
import { syncAll } from './run.ts';

/** What a background sync takes from its surroundings; tests replace them. */
export interface BackgroundDeps {
  fetch?: FetchLike;
  indexedDB?: IndexedDbSource;
  platform?: Partial<SyncPlatform>;
}

/**
 * Syncs database `dbName` with no tab open, as a service worker does for Background Sync: reads
 * the options its last worker stored, builds a runtime with no model and runs the same sync as a
 * tab (Web Locks keep it from running beside a tab's sync; open tabs see its progress). Resolves
 * to null when no worker ever initialised the database.
 *
 * @example
 * const result = await syncInBackground('edgeloop'); // { sent: 12, accepted: 12, … } or null
 */
export async function syncInBackground(dbName: string, deps: BackgroundDeps = {}): Promise<SyncResult | null> {
  const db = new EdgeloopDb(dbName, deps.indexedDB);
  const platform: SyncPlatform = { ...detectSyncPlatform(), ...deps.platform };
  const progress = new SyncProgress(platform, dbName, crypto.randomUUID(), Date.now);
  try {
    const row = await withStorage('read sync options', () => db.meta.get('syncOptions'));
    if (row?.key !== 'syncOptions') return null;
    // Written by this app's worker, perhaps by an older version of it: checked like any input.
    const options = v.parse(InitOptions, row.value);
    const runtime = newSyncRuntime(options, db, platform, deps.fetch ?? globalThis.fetch.bind(globalThis));
    const identity = await readIdentity(db);
    if (identity) adopt(runtime, identity);
    return await syncAll(runtime, Date.now, progress);
  } finally {
    progress.close();
    db.close();
  }
}

/** The part of a service worker's `sync` event Edgeloop uses. */
export interface SyncEventLike {
  tag: string;
  waitUntil(work: Promise<unknown>): void;
}

/**
 * Answers Background Sync in a service worker: each `sync` event tagged with a database's sync
 * topic (the SDK registers it when a sync fails and will be retried) syncs that database. A
 * failure worth retrying rejects the event, so the browser tries again later; others (a
 * revoked client, SEQ_GAP) resolve it, as retrying cannot help.
 *
 * @example
 * // sw.js of the app
 * import { answerBackgroundSync } from 'edgeloop/worker/sync/background.ts';
 * answerBackgroundSync(self);
 */
export function answerBackgroundSync(
  scope: { addEventListener(type: 'sync', listener: (event: SyncEventLike) => void): void },
  deps: BackgroundDeps = {},
): void {
  scope.addEventListener('sync', (event) => {
    const dbName = dbNameOfTopic(event.tag);
    if (dbName === null) return;
    event.waitUntil(
      syncInBackground(dbName, deps).catch((error: unknown) => {
        if (isRetryable(error)) throw error;
      }),
    );
  });
}
