import type { SyncResult } from '../../protocol/worker-api.ts';
import { withStorage } from '../db.ts';
import type { SyncRuntime } from '../runtime.ts';
import { pendingCount } from './outbox.ts';

/** How long an IndexedDB lease holds without Web Locks: a tab that died frees the sync after this. */
export const LEASE_MS = 2 * 60_000;

/**
 * Runs `sync` only if no other tab (worker) of this database is syncing: with Web Locks
 * (`edgeloop-sync:<dbName>`, ifAvailable), else with a lease row in IndexedDB that expires.
 * A tab that does not get it answers {@link otherTabResult}: the other tab's last recorded
 * sync with the pending count read now, marked `otherTab`. `sync` gets `renew`, to call as it
 * makes progress: it extends a lease (a Web Lock needs none), so a long sync keeps it.
 *
 * @example
 * const result = await withSyncLock(runtime, (renew) => syncEverything(runtime, renew), Date.now);
 */
export async function withSyncLock(
  runtime: SyncRuntime,
  sync: (renew: () => Promise<void>) => Promise<SyncResult>,
  now: () => number,
): Promise<SyncResult> {
  const { locks } = runtime.platform;
  const name = `edgeloop-sync:${runtime.options.dbName}`;
  if (locks) {
    const held = async () => undefined;
    return locks.request(name, { ifAvailable: true }, (lock) => (lock ? sync(held) : otherTabResult(runtime)));
  }
  if (!(await takeLease(runtime, now()))) return otherTabResult(runtime);
  try {
    return await sync(async () => {
      await takeLease(runtime, now());
    });
  } finally {
    await releaseLease(runtime).catch(() => undefined);
  }
}

/**
 * What a tab that could not sync reports: the shared `lastSync` and the current pending count.
 *
 * @example
 * const progress = await otherTabResult(runtime); // { …, pending: 12, otherTab: true }
 */
export async function otherTabResult(runtime: SyncRuntime): Promise<SyncResult> {
  const { db } = runtime;
  const [row, pending] = await withStorage('read sync progress', () =>
    Promise.all([db.meta.get('lastSync'), pendingCount(db)]),
  );
  const last = row?.key === 'lastSync' ? row.value : null;
  const none = { sent: 0, accepted: 0, duplicates: 0, capped: 0, rejected: 0 };
  return {
    v: 1,
    sent: last?.sent ?? 0,
    accepted: last?.accepted ?? 0,
    duplicates: last?.duplicates ?? 0,
    rejected: last?.rejected ?? 0,
    at: last?.at ?? 0,
    profiles: last?.profiles ?? none,
    pending,
    otherTab: true,
  };
}

async function takeLease(runtime: SyncRuntime, now: number): Promise<boolean> {
  const { db, tabId } = runtime;
  return withStorage('take sync lease', () =>
    db.transaction('rw', db.meta, async () => {
      const row = await db.meta.get('syncLease');
      const lease = row?.key === 'syncLease' ? row.value : null;
      if (lease && lease.owner !== tabId && lease.expiresAt > now) return false;
      await db.meta.put({ key: 'syncLease', value: { owner: tabId, expiresAt: now + LEASE_MS } });
      return true;
    }),
  );
}

async function releaseLease(runtime: SyncRuntime): Promise<void> {
  const { db, tabId } = runtime;
  await withStorage('release sync lease', () =>
    db.transaction('rw', db.meta, async () => {
      const row = await db.meta.get('syncLease');
      if (row?.key === 'syncLease' && row.value.owner === tabId) await db.meta.delete('syncLease');
    }),
  );
}
