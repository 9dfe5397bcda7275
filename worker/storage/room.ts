import { EdgeloopError } from '../../protocol/errors.ts';
import { isQuotaError, withStorage } from '../db.ts';
import type { SyncRuntime } from '../runtime.ts';
import { applyRetention } from './retention.ts';

/**
 * Runs a write transaction; when it dies of QuotaExceededError (nothing of it was written: it
 * rolled back), runs retention and tries once more. A second quota failure is STORAGE saying
 * so. Other failures pass through as withStorage maps them.
 *
 * @example
 * await withRoom(runtime, 'record prediction', () => db.transaction('rw', db.predictions, …));
 */
export async function withRoom<T>(runtime: SyncRuntime, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await withStorage(what, write);
  } catch (error) {
    if (!isQuotaError(error)) throw error;
  }
  const dropped = await applyRetention(runtime, { force: true });
  // The rolled-back write may have updated the cached open profiles: make them be read again.
  runtime.profiles.open.clear();
  runtime.profiles.rev = null;
  try {
    return await withStorage(what, write);
  } catch (error) {
    if (!isQuotaError(error)) throw error;
    throw new EdgeloopError(
      'STORAGE',
      `${what}: storage is full even after dropping ${dropped.outbox} acknowledged events and ${dropped.inputs} ` +
        'stored inputs; nothing was written (free space or sync, then try again)',
      { cause: error },
    );
  }
}
