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
 * for training. Labels must name one of the prediction's classes, by index or by the
 * manifest's label name ({@link classIndex}). The first label of a
 * prediction is also counted into the open drift profile of its (model, version) for the
 * current hour (confusion and calibration).
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
      const label = classIndex(loaded?.name === prediction.model ? loaded.info.manifest : {}, prediction.model, given);
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

/**
 * The class index a feedback label names: an index as given, or a name of the manifest's
 * `labels`. INVALID_INPUT for a name the labels lack, a fraction or a negative index, and for any
 * label of an embedding model (it has no classes); a regression model's true values are not
 * taken yet (UNSUPPORTED_MODEL).
 *
 * @example
 * classIndex({ labels: ['cat', 'dog'] }, 'pets', 'dog'); // 1
 */
export function classIndex(manifest: Pick<Manifest, 'labels' | 'task'>, model: string, label: FeedbackLabel): number {
  const task = manifest.task ?? 'classification';
  if (task === 'embedding') {
    throw new EdgeloopError('INVALID_INPUT', `label: ${model} is an embedding model, which takes no feedback labels`);
  }
  if (task === 'regression') {
    throw new EdgeloopError(
      'UNSUPPORTED_MODEL',
      `label: feedback on ${model}, a regression model, is not recorded yet`,
    );
  }
  if (typeof label === 'string') {
    const index = manifest.labels?.indexOf(label) ?? -1;
    if (index >= 0) return index;
    const known = manifest.labels
      ? `its labels are ${manifest.labels.map((l) => JSON.stringify(l)).join(', ')}`
      : 'its manifest has no labels: give the class index';
    throw new EdgeloopError('INVALID_INPUT', `label: ${JSON.stringify(label)} is not a class of ${model} (${known})`);
  }
  if (!Number.isInteger(label)) throw new EdgeloopError('INVALID_INPUT', 'label: must be an integer');
  if (label < 0) throw new EdgeloopError('INVALID_INPUT', 'label: must be ≥ 0');
  return label;
}
