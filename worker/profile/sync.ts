import { Dexie } from 'dexie';
import {
  MAX_PROFILES_PER_BATCH,
  type ProfileBatch,
  ProfileBatchResult,
  type ProfileEnvelope,
} from '../../protocol/profile/index.ts';
import type { SyncResult } from '../../protocol/worker-api.ts';
import { type EdgeloopDb, type StoredProfile, withStorage } from '../db.ts';
import type { SyncRuntime } from '../runtime.ts';
import { settledItems } from '../sync/reply.ts';
import { bumpRev, type ProfileCache } from './record.ts';

/**
 * Seals every open profile (one transaction; predictions after it open new ones), then sends
 * the sealed ones to `POST /v1/profiles` in batches of MAX_PROFILES_PER_BATCH, oldest window
 * first. A profile is marked sent once the edge acknowledged it (accepted, duplicate or capped)
 * and rejected, with the edge's code, when refused; neither is sent again. A failed request
 * throws NETWORK or EDGE_ERROR and leaves its batch sealed for the next sync; a profile sent
 * again keeps its id, so the edge counts it once. Callers must not run two syncs at once;
 * `onBatch` runs after each acknowledged batch.
 *
 * @example
 * const profiles = await syncProfiles(runtime); // { sent: 2, accepted: 2, duplicates: 0, capped: 0, rejected: 0 }
 */
export async function syncProfiles(
  runtime: SyncRuntime,
  onBatch: () => Promise<void> = async () => undefined,
): Promise<SyncResult['profiles']> {
  const { db, edge, clientId } = runtime;
  await sealOpenProfiles(db, runtime.profiles);
  const totals = { sent: 0, accepted: 0, duplicates: 0, capped: 0, rejected: 0 };
  for (;;) {
    const rows = await withStorage('read sealed profiles', () =>
      db.profiles
        .where('[state+window]')
        .between(['sealed', Dexie.minKey], ['sealed', Dexie.maxKey])
        .limit(MAX_PROFILES_PER_BATCH)
        .toArray(),
    );
    if (rows.length === 0) break;
    const profiles: ProfileEnvelope[] = rows.map(({ id, model, version, window, profile }) => ({
      id,
      model,
      version,
      window,
      profile,
    }));
    const batch: ProfileBatch = { v: 1, clientId, profiles };
    const reply = await edge.json('/v1/profiles', ProfileBatchResult, batch);
    await settle(db, rows, reply);
    await onBatch();
    totals.sent += rows.length;
    totals.accepted += reply.accepted;
    totals.duplicates += reply.duplicates;
    totals.capped += reply.capped;
    totals.rejected += reply.rejected.length;
  }
  return totals;
}

/**
 * Turns every open profile into a sealed one, in one transaction, and changes the profile rev
 * so no cached open profile is written again.
 *
 * @example
 * const sealed = await sealOpenProfiles(db, runtime.profiles); // 3
 */
export async function sealOpenProfiles(db: EdgeloopDb, cache: ProfileCache): Promise<number> {
  return withStorage('seal profiles', () =>
    db.transaction('rw', db.profiles, db.meta, async () => {
      const sealed = await db.profiles
        .where('[state+window]')
        .between(['open', Dexie.minKey], ['open', Dexie.maxKey])
        .modify({ state: 'sealed', updatedAt: Date.now() });
      if (sealed > 0) {
        // The cached rows are the ones just sealed: drop them, not only mark the rev.
        cache.open.clear();
        await bumpRev(db, cache);
      }
      return sealed;
    }),
  );
}

async function settle(db: EdgeloopDb, rows: StoredProfile[], reply: ProfileBatchResult): Promise<void> {
  const acknowledged = reply.accepted + reply.duplicates + reply.capped;
  const refusals = settledItems('/v1/profiles', 'profiles', reply.rejected, acknowledged, rows.length);
  const updatedAt = Date.now();
  await withStorage('mark profiles', () =>
    db.profiles.bulkUpdate(
      rows.map((row, index) => {
        const rejection = refusals[index];
        return {
          key: row.id,
          changes: rejection ? { state: 'rejected', updatedAt, rejection } : { state: 'sent', updatedAt },
        };
      }),
    ),
  );
}
