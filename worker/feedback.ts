import { EdgeloopError } from '../protocol/errors.ts';
import { buildProfile } from '../protocol/profile/index.ts';
import { addToOpenProfile, hourOf, latestSchema, openProfile, schemaOf } from './profile/record.ts';
import type { Runtime } from './runtime.ts';
import { withRoom } from './storage/room.ts';
import { appendEvent } from './sync/outbox.ts';

/**
 * Stores a label for an earlier prediction and queues its `feedback` event, in one
 * transaction. A second label for the same prediction is a new event; the latest one wins
 * for training. Labels must name one of the prediction's classes. The first label of a
 * prediction is also counted into the open drift profile of its (model, version) for the
 * current hour (confusion and calibration).
 *
 * @example
 * await recordFeedback(runtime, result.predictionId, 7);
 */
export async function recordFeedback(runtime: Runtime, predictionId: string, label: number): Promise<void> {
  const { db } = runtime;
  await withRoom(runtime, 'record feedback', () =>
    db.transaction('rw', db.predictions, db.feedback, db.outbox, db.meta, db.profiles, async () => {
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
      // Only the first label is profiled: the profile it went into may already be sent, and a
      // sent profile cannot be amended, so counting corrections would count a prediction twice.
      const first = (await db.feedback.where('predictionId').equals(predictionId).count()) === 0;
      const seq = await appendEvent(db, { id, type: 'feedback', ts, model, version, predictionId, label });
      await db.feedback.add({ id, predictionId, label, ts, seq });
      if (!first) return;
      const window = { model, version, window: hourOf(ts) };
      const open = await openProfile(db, runtime.profiles, window);
      // A profile opened here describes the same features as the version's other profiles.
      const schema = open ? { features: schemaOf(open.profile) } : await latestSchema(db, model, version);
      const confidence = prediction.outputs[prediction.label] ?? 0;
      const addition = buildProfile([], schema, {
        feedback: [{ actual: label, predicted: prediction.label, confidence }],
        classes,
      });
      await addToOpenProfile(db, runtime.profiles, window, addition, ts);
    }),
  );
}
