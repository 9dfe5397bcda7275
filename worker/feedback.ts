import { EdgeloopError } from '../protocol/errors.ts';
import type { Manifest } from '../protocol/manifest.ts';
import type { FeedbackLabel } from '../protocol/predict.ts';
import { buildProfile } from '../protocol/profile/index.ts';
import { addToOpenProfile, hourOf, latestSchema, openProfile, schemaOf } from './profile/record.ts';
import type { Runtime } from './runtime.ts';
import { withRoom } from './storage/room.ts';
import { appendEvent } from './sync/outbox.ts';

/**
 * Stores a label for an earlier prediction and queues its `feedback` event, in one
 * transaction. A second label for the same prediction is a new event; the latest one wins
 * for training. A classifier's label must name one of the prediction's classes, by index or by
 * the manifest's label name; a regression model's is its true value ({@link feedbackOf}). The
 * first class label of a prediction is also counted into the open drift profile of its (model,
 * version) for the current hour (confusion and calibration).
 *
 * @example
 * await recordFeedback(runtime, result.predictionId, 7);
 */
export async function recordFeedback(runtime: Runtime, predictionId: string, given: FeedbackLabel): Promise<void> {
  const { db } = runtime;
  const loaded = runtime.loaded;
  await withRoom(runtime, 'record feedback', () =>
    db.transaction('rw', db.predictions, db.feedback, db.outbox, db.meta, db.profiles, async () => {
      const prediction = await db.predictions.get(predictionId);
      if (!prediction) throw new EdgeloopError('UNKNOWN_PREDICTION', `no prediction ${predictionId} on this device`);
      // The model's labels and task are its loaded manifest's: a model keeps its classes across versions.
      const answer = feedbackOf(loaded?.name === prediction.model ? loaded.info.manifest : {}, prediction.model, given);
      const classes = prediction.outputs.length;
      if (answer.label !== undefined && answer.label >= classes) {
        throw new EdgeloopError(
          'INVALID_INPUT',
          `label: ${answer.label} is not a class of ${prediction.model} (0..${classes - 1})`,
        );
      }
      const id = crypto.randomUUID();
      const ts = Date.now();
      const { model, version } = prediction;
      // Only the first label is profiled: the profile it went into may already be sent, and a
      // sent profile cannot be amended, so counting corrections would count a prediction twice.
      const first = (await db.feedback.where('predictionId').equals(predictionId).count()) === 0;
      const seq = await appendEvent(db, { id, type: 'feedback', ts, model, version, predictionId, ...answer });
      await db.feedback.add({ id, predictionId, ts, seq, ...answer });
      if (!first || answer.label === undefined) return;
      const window = { model, version, window: hourOf(ts) };
      const open = await openProfile(db, runtime.profiles, window);
      // A profile opened here describes the same features as the version's other profiles.
      const schema = open ? { features: schemaOf(open.profile) } : await latestSchema(db, model, version);
      const confidence = prediction.outputs[prediction.label] ?? 0;
      const addition = buildProfile([], schema, {
        feedback: [{ actual: answer.label, predicted: prediction.label, confidence }],
        classes,
      });
      await addToOpenProfile(db, runtime.profiles, window, addition, ts);
    }),
  );
}

/**
 * What a feedback label says, by the model's task: a class index (an index as given, or a name
 * of the manifest's `labels`) for a classifier, the true value for a regression model.
 * INVALID_INPUT for a name the labels lack, a fraction or negative index, a regression value
 * that is not a number, and any label of an embedding model (it has no classes).
 *
 * @example
 * feedbackOf({ labels: ['cat', 'dog'] }, 'pets', 'dog'); // { label: 1 }
 * feedbackOf({ task: 'regression' }, 'price', 12.5); // { value: 12.5 }
 */
export function feedbackOf(
  manifest: Pick<Manifest, 'labels' | 'task'>,
  model: string,
  label: FeedbackLabel,
): { label: number; value?: undefined } | { value: number; label?: undefined } {
  const task = manifest.task ?? 'classification';
  if (task === 'embedding') {
    throw new EdgeloopError('INVALID_INPUT', `label: ${model} is an embedding model, which takes no feedback labels`);
  }
  if (task === 'regression') {
    if (typeof label !== 'number') {
      throw new EdgeloopError('INVALID_INPUT', `label: ${model} is a regression model: give the true value, a number`);
    }
    return { value: label };
  }
  if (typeof label === 'string') {
    const index = manifest.labels?.indexOf(label) ?? -1;
    if (index >= 0) return { label: index };
    const known = manifest.labels
      ? `its labels are ${manifest.labels.map((l) => JSON.stringify(l)).join(', ')}`
      : 'its manifest has no labels: give the class index';
    throw new EdgeloopError('INVALID_INPUT', `label: ${JSON.stringify(label)} is not a class of ${model} (${known})`);
  }
  if (!Number.isInteger(label)) throw new EdgeloopError('INVALID_INPUT', 'label: must be an integer');
  if (label < 0) throw new EdgeloopError('INVALID_INPUT', 'label: must be ≥ 0');
  return { label };
}
