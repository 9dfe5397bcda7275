import type { FederatedStatus } from '../../protocol/worker-api.ts';
import { type EdgeloopDb, type UpdateRow, withStorage } from '../db.ts';

/** The key of a model's update for a round. */
export const updateId = (model: string, roundId: string): string => `${model}/${roundId}`;

/**
 * This device's update for a round, or undefined when it never trained one.
 *
 * @example
 * if (await findUpdate(db, 'digits', round.id)) return 'already';
 */
export function findUpdate(db: EdgeloopDb, model: string, roundId: string): Promise<UpdateRow | undefined> {
  return withStorage('read federated update', () => db.updates.get(updateId(model, roundId)));
}

/**
 * Stores a pending update unless one for the round is there already (another tab, or a call that
 * raced this one, trained first): then that one is returned and this one is dropped, so a round
 * never gets two updates from one database.
 *
 * @example
 * const stored = await storeUpdate(db, row); // stored === row when it was first
 */
export function storeUpdate(db: EdgeloopDb, row: UpdateRow): Promise<UpdateRow> {
  return withStorage('store federated update', () =>
    db.transaction('rw', db.updates, async () => {
      const existing = await db.updates.get(row.id);
      if (existing) return existing;
      await db.updates.add(row);
      return row;
    }),
  );
}

/** Updates waiting to be sent, oldest first. */
export async function pendingUpdates(db: EdgeloopDb): Promise<UpdateRow[]> {
  const rows = await withStorage('read pending updates', () => db.updates.where('state').equals('pending').toArray());
  return rows.sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Records the edge's answer: acknowledged (`duplicate` when it had the bytes already) or refused
 * with `rejection`. The bytes are dropped then: a settled update is never sent again.
 */
export function settleUpdate(
  db: EdgeloopDb,
  id: string,
  outcome: { duplicate: boolean } | { rejection: { code: string; message: string } },
): Promise<void> {
  const settledAt = Date.now();
  const changes: Partial<UpdateRow> =
    'rejection' in outcome
      ? { state: 'rejected', rejection: outcome.rejection, bytes: null, settledAt }
      : { state: 'sent', duplicate: outcome.duplicate, bytes: null, settledAt };
  return withStorage('mark federated update', async () => {
    await db.updates.update(id, changes);
  });
}

/**
 * What `status().federated` says: whether the worker takes part on its own and its latest update.
 *
 * @example
 * const federated = await federatedStatus(db, runtime.options.federated);
 */
export async function federatedStatus(db: EdgeloopDb, enabled: boolean): Promise<FederatedStatus> {
  const last = await withStorage('read federated update', () => db.updates.orderBy('createdAt').last());
  return {
    enabled,
    lastRound: last
      ? {
          id: last.roundId,
          model: last.model,
          state: last.state,
          examples: last.examples,
          norm: last.norm,
          clipped: last.clipped,
          at: last.settledAt ?? last.createdAt,
          ...(last.rejection ? { rejection: last.rejection } : {}),
        }
      : null,
  };
}

/** Number of updates waiting to be sent. */
export function pendingUpdateCount(db: EdgeloopDb): Promise<number> {
  return withStorage('count pending updates', () => db.updates.where('state').equals('pending').count());
}
