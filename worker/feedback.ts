import { EdgeloopError } from '../protocol/errors.ts';
import { type EdgeloopDb, withStorage } from './db.ts';
import { appendEvent } from './sync/outbox.ts';

/**
 * Stores a label for an earlier prediction and queues its `feedback` event, in one
 * transaction. A second label for the same prediction is a new event; the latest one wins
 * for training. Labels must name one of the prediction's classes.
 *
 * @example
 * await recordFeedback(db, result.predictionId, 7);
 */
export async function recordFeedback(db: EdgeloopDb, predictionId: string, label: number): Promise<void> {
  await withStorage('record feedback', () =>
    db.transaction('rw', db.predictions, db.feedback, db.outbox, db.meta, async () => {
      const prediction = await db.predictions.get(predictionId);
      if (!prediction) throw new EdgeloopError('UNKNOWN_PREDICTION', `no prediction ${predictionId} on this device`);
      const classes = prediction.outputs.length;
      if (label >= classes) {
        throw new EdgeloopError(
          'INVALID_INPUT',
          `label: ${label} is not a class of ${prediction.model} (0..${classes - 1})`,
        );
      }
      const id = crypto.randomUUID();
      const ts = Date.now();
      const { model, version } = prediction;
      const seq = await appendEvent(db, { id, type: 'feedback', ts, model, version, predictionId, label });
      await db.feedback.add({ id, predictionId, label, ts, seq });
    }),
  );
}
