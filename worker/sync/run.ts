import type { SyncResult } from '../../protocol/worker-api.ts';
import { withStorage } from '../db.ts';
import { sendUpdates } from '../federated/send.ts';
import { syncProfiles } from '../profile/sync.ts';
import type { SyncRuntime } from '../runtime.ts';
import { applyRetention } from '../storage/retention.ts';
import { ensureIdentity } from './identity.ts';
import { withSyncLock } from './lock.ts';
import { pendingCount } from './outbox.ts';
import type { SyncProgress } from './progress.ts';
import { isRetryable } from './retry.ts';
import { syncOutbox } from './sync.ts';

/**
 * One whole sync, if this tab gets the sync lock (else the other tab's progress): register when
 * there is no identity yet, send events, then profiles, then stored federated updates (a failed
 * event sync leaves the profiles and updates for the next one), record the result as
 * `lastSync`, and apply retention (acknowledged rows are what it may drop; its failure does not
 * fail the sync). `progress` tells the other contexts of the database how it goes; each
 * acknowledged batch also renews the sync lease. Callers serialise syncs.
 *
 * @example
 * const result = await syncAll(runtime, Date.now, new SyncProgress(platform, dbName, tabId, Date.now));
 */
export async function syncAll(runtime: SyncRuntime, now: () => number, progress: SyncProgress): Promise<SyncResult> {
  return withSyncLock(
    runtime,
    async (renew) => {
      try {
        await ensureIdentity(runtime);
        progress.started(await withStorage('count outbox', () => pendingCount(runtime.db)));
        const onBatch = async (events: number) => {
          progress.batch(events);
          await renew();
        };
        const events = await syncOutbox(runtime, onBatch);
        const result: SyncResult = { ...events, profiles: await syncProfiles(runtime, renew) };
        await sendUpdates(runtime, renew);
        await withStorage('record sync', () => runtime.db.meta.put({ key: 'lastSync', value: result }));
        runtime.lastSync = result;
        progress.ended(null);
        await applyRetention(runtime, { force: false }).catch(() => undefined);
        return result;
      } catch (error) {
        progress.ended({ retryable: isRetryable(error) });
        throw error;
      }
    },
    now,
  );
}
