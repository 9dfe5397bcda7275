import type { SyncResult } from '../../protocol/worker-api.ts';
import { withStorage } from '../db.ts';
import { syncProfiles } from '../profile/sync.ts';
import type { Runtime } from '../runtime.ts';
import { applyRetention } from '../storage/retention.ts';
import { ensureIdentity } from './identity.ts';
import { withSyncLock } from './lock.ts';
import { syncOutbox } from './sync.ts';

/**
 * One whole sync, if this tab gets the sync lock (else the other tab's progress): register when
 * there is no identity yet, send events, then profiles (a failed event sync leaves the profiles
 * for the next one), record the result as `lastSync`, and apply retention (acknowledged rows
 * are what it may drop; its failure does not fail the sync). Callers serialise syncs.
 *
 * @example
 * const result = await syncAll(runtime, Date.now);
 */
export async function syncAll(runtime: Runtime, now: () => number): Promise<SyncResult> {
  return withSyncLock(
    runtime,
    async () => {
      await ensureIdentity(runtime);
      const events = await syncOutbox(runtime);
      const result: SyncResult = { ...events, profiles: await syncProfiles(runtime) };
      await withStorage('record sync', () => runtime.db.meta.put({ key: 'lastSync', value: result }));
      runtime.lastSync = result;
      await applyRetention(runtime, { force: false }).catch(() => undefined);
      return result;
    },
    now,
  );
}
