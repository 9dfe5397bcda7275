import { EdgeloopError } from '../../protocol/errors.ts';
import type { FederatedStatus } from '../../protocol/participate.ts';
import { type EdgeloopDb, type StoredEvaluation, type UpdateRow, withStorage } from '../db.ts';

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
          ...(last.heldOut?.length ? { heldOut: last.heldOut.length } : {}),
          ...(last.evaluation ? { evaluation: evaluationStatus(last.evaluation) } : {}),
        }
      : null,
  };
}

function evaluationStatus(e: StoredEvaluation) {
  const { state, examples, baseCorrect, candidateCorrect, rejection } = e;
  return { state, examples, baseCorrect, candidateCorrect, ...(rejection ? { rejection } : {}) };
}

/**
 * The model's update whose held-out evaluation waits to be sent again (its reply was lost), if any.
 *
 * @example
 * const waiting = await pendingEvaluation(db, 'digits'); // { row, evaluation } | undefined
 */
export async function pendingEvaluation(
  db: EdgeloopDb,
  model: string,
): Promise<{ row: UpdateRow; evaluation: StoredEvaluation } | undefined> {
  const row = await withStorage('read federated evaluations', () =>
    db.updates.filter((r) => r.model === model && r.evaluation?.state === 'pending').first(),
  );
  return row?.evaluation ? { row, evaluation: row.evaluation } : undefined;
}

/**
 * Stores a round's evaluation unless one is there already (another tab counted first): that one
 * is returned then, so every retry sends the same counts.
 *
 * @example
 * const stored = await storeEvaluation(db, row.id, { examples: 10, baseCorrect: 6, candidateCorrect: 8, state: 'pending', createdAt });
 */
export function storeEvaluation(db: EdgeloopDb, id: string, evaluation: StoredEvaluation): Promise<StoredEvaluation> {
  return withStorage('store federated evaluation', () =>
    db.transaction('rw', db.updates, async () => {
      const row = await db.updates.get(id);
      if (!row) throw new EdgeloopError('STORAGE', `store federated evaluation: update ${id} is gone`);
      if (row.evaluation) return row.evaluation;
      await db.updates.update(id, { evaluation });
      return evaluation;
    }),
  );
}

/** Records the edge's answer to an evaluation (acknowledged, or refused for good) and returns it as stored. */
export function settleEvaluation(
  db: EdgeloopDb,
  id: string,
  evaluation: StoredEvaluation,
  outcome: { duplicate: boolean } | { rejection: { code: string; message: string } },
): Promise<StoredEvaluation> {
  const settled: StoredEvaluation = {
    ...evaluation,
    ...('rejection' in outcome
      ? { state: 'rejected', rejection: outcome.rejection }
      : { state: 'sent', duplicate: outcome.duplicate }),
    settledAt: Date.now(),
  };
  return withStorage('mark federated evaluation', async () => {
    await db.updates.update(id, { evaluation: settled });
    return settled;
  });
}

/** Number of updates waiting to be sent. */
export function pendingUpdateCount(db: EdgeloopDb): Promise<number> {
  return withStorage('count pending updates', () => db.updates.where('state').equals('pending').count());
}
