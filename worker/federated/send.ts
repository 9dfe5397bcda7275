import { EdgeloopError } from '../../protocol/errors.ts';
import { HttpFailure } from '../edge-client.ts';
import type { SyncRuntime } from '../runtime.ts';
import { isRetryable } from '../sync/retry.ts';
import { postUpdate } from './round.ts';
import { pendingUpdates, settleUpdate } from './updates.ts';

/**
 * Sends the stored federated updates still pending, oldest first, as part of a sync (the caller
 * holds the sync lock and registered first; `renew` renews its lease after each update). Each
 * is marked sent once the edge acknowledged it (a `duplicate` too: a retry of bytes that
 * arrived), and rejected with the edge's code when the edge refused it for good (ROUND_CLOSED,
 * INVALID_UPDATE, DUPLICATE_UPDATE, ROUND_NOT_FOUND, any other 4xx): never sent again. No
 * connection, 408, 429 and 5xx leave it pending and throw, so the sync is retried like events
 * are; so do a bad or revoked client token, which need a person.
 *
 * @example
 * await sendUpdates(runtime, renew); // after events and profiles
 */
export async function sendUpdates(runtime: SyncRuntime, renew: () => Promise<void>): Promise<void> {
  for (const row of await pendingUpdates(runtime.db)) {
    if (!row.bytes) continue;
    try {
      const receipt = await postUpdate(runtime, row, row.bytes);
      await settleUpdate(runtime.db, row.id, { duplicate: receipt.duplicate });
    } catch (error) {
      const rejection = refusal(error);
      if (!rejection) throw error;
      await settleUpdate(runtime.db, row.id, { rejection });
    }
    await renew();
  }
}

/** The edge's final refusal of an update, or null when it is worth sending again (or needs a person). */
export function refusal(error: unknown): { code: string; message: string } | null {
  if (isRetryable(error)) return null;
  const e = EdgeloopError.from(error);
  const status = e.cause instanceof HttpFailure ? e.cause.status : null;
  if (status === null || status < 400 || status >= 500 || status === 401 || status === 403) return null;
  return { code: e.code, message: e.message };
}
