import type { StorageState } from '../../protocol/worker-api.ts';
import { type EdgeloopDb, withStorage } from '../db.ts';
import type { SyncRuntime } from '../runtime.ts';

/** Above this share of the quota, retention starts dropping implicit signals. */
export const QUOTA_THRESHOLD = 0.8;
/** Retention trims to this share of the item cap, so it does not run on every write. */
const CAP_TARGET = 0.9;

export interface Dropped {
  outbox: number;
  inputs: number;
}

/**
 * Asks for persistent storage once per database (the answer is stored and reported) and reads
 * the current estimate into `runtime.storage`.
 *
 * @example
 * await checkStorage(runtime); // runtime.storage: { persisted: true, usage: 1234, quota: 5e9 }
 */
export async function checkStorage(runtime: SyncRuntime): Promise<void> {
  const { db, platform } = runtime;
  const manager = platform.storage;
  if (runtime.storage.persisted === null && manager?.persist) {
    const row = await withStorage('read persisted', () => db.meta.get('persisted'));
    let persisted = row?.key === 'persisted' ? row.value : null;
    if (persisted === null) {
      persisted = await manager.persist().catch(() => false);
      await withStorage('store persisted', () => db.meta.put({ key: 'persisted', value: persisted as boolean }));
    }
    runtime.storage.persisted = persisted;
  }
  const estimate = await manager?.estimate?.().catch(() => undefined);
  if (estimate?.usage !== undefined) runtime.storage.usage = estimate.usage;
  if (estimate?.quota !== undefined) runtime.storage.quota = estimate.quota;
}

/**
 * Drops the oldest implicit signals when storage runs short: above QUOTA_THRESHOLD of the
 * quota (or when `force`d after a QuotaExceededError) all acknowledged outbox rows and the
 * inputs of the older half of sent, unlabelled predictions; above `maxStoredItems` (outbox rows
 * plus predictions holding an input) enough of them, oldest first, to get to 90% of it.
 * Never dropped: pending events, feedback (labels) and the inputs of labelled predictions
 * (training needs them). Drops are added to the `dropped` counts in meta (status reports them).
 *
 * @example
 * const { outbox, inputs } = await applyRetention(runtime, { force: false });
 */
export async function applyRetention(runtime: SyncRuntime, { force }: { force: boolean }): Promise<Dropped> {
  await checkStorage(runtime).catch(() => undefined);
  const { db } = runtime;
  const cap = runtime.options.maxStoredItems;
  const { usage, quota } = runtime.storage;
  const overQuota =
    force || (usage !== undefined && quota !== undefined && quota > 0 && usage / quota > QUOTA_THRESHOLD);
  return withStorage('apply retention', () =>
    db.transaction('rw', db.outbox, db.predictions, db.feedback, db.meta, async () => {
      const dropped = await readDropped(db);
      const items = (await db.outbox.count()) + (await db.predictions.count()) - dropped.inputs;
      let excess = Math.max(0, items - Math.floor(cap * CAP_TARGET));
      if (items <= cap) excess = 0;
      if (!overQuota && excess === 0) return { outbox: 0, inputs: 0 };
      const outbox = await dropSettledEvents(db, overQuota ? Number.POSITIVE_INFINITY : excess);
      excess = Math.max(0, excess - outbox);
      const eligible = overQuota || excess > 0 ? await inputsToDrop(db) : [];
      const share = overQuota ? Math.max(1, Math.ceil(eligible.length / 2)) : 0;
      const chosen = eligible.slice(0, Math.max(share, excess));
      for (const id of chosen) await db.predictions.update(id, { input: new Float32Array(0), inputs: undefined });
      const result = { outbox, inputs: chosen.length };
      await db.meta.put({
        key: 'dropped',
        value: { outbox: dropped.outbox + result.outbox, inputs: dropped.inputs + result.inputs },
      });
      return result;
    }),
  );
}

/**
 * The drop counts for status.
 *
 * @example
 * const { dropped } = await storageState(runtime);
 */
export async function storageState(runtime: SyncRuntime): Promise<StorageState> {
  const dropped = await withStorage('read drops', () => readDropped(runtime.db));
  return { ...runtime.storage, dropped };
}

async function readDropped(db: EdgeloopDb): Promise<Dropped> {
  const row = await db.meta.get('dropped');
  return row?.key === 'dropped' ? row.value : { outbox: 0, inputs: 0 };
}

/** Deletes acknowledged (sent or rejected) outbox rows, lowest seq first. */
async function dropSettledEvents(db: EdgeloopDb, limit: number): Promise<number> {
  if (limit <= 0) return 0;
  const keys = await db.outbox
    .orderBy('seq')
    .filter((row) => row.state !== 'pending')
    .limit(limit)
    .primaryKeys();
  await db.outbox.bulkDelete(keys);
  return keys.length;
}

/** Ids of predictions, oldest first, that still hold an input, were sent and have no label. */
async function inputsToDrop(db: EdgeloopDb): Promise<string[]> {
  const pending = new Set((await db.outbox.where('state').equals('pending').toArray()).map((row) => row.event.id));
  const labelled = new Set((await db.feedback.toArray()).map((row) => row.predictionId));
  return db.predictions
    .orderBy('ts')
    .filter((p) => p.input.length > 0 && !pending.has(p.id) && !labelled.has(p.id))
    .primaryKeys();
}
