import { argmax } from '../argmax.ts';
import { EdgeloopError } from '../errors.ts';
import { mergeNumeric, numericProfile } from './numeric.ts';
import { CALIBRATION_BINS, type FeedbackProfile, MAX_PROFILE_CLASSES, type OutputProfile } from './schema.ts';

/** One labelled prediction: class indices and the predicted class's probability in [0, 1]. */
export interface FeedbackItem {
  readonly actual: number;
  readonly predicted: number;
  readonly confidence: number;
}

/**
 * Profiles model outputs: vectors of 2+ values count the argmax class; 1-value vectors are
 * scores (a numeric profile). All vectors must have the same length (else INVALID_PROFILE).
 *
 * @example
 * outputProfile([[0.1, 0.9], [0.8, 0.2]], 200) // { kind: 'classes', counts: [1, 1] }
 */
export function outputProfile(outputs: readonly (readonly number[])[], k: number): OutputProfile {
  const width = outputs[0]?.length ?? 0;
  if (width < 1 || width > MAX_PROFILE_CLASSES || outputs.some((o) => o.length !== width)) {
    throw new EdgeloopError('INVALID_PROFILE', `outputs must all have the same length, 1 to ${MAX_PROFILE_CLASSES}`);
  }
  if (width === 1)
    return {
      kind: 'scores',
      scores: numericProfile(
        outputs.map((o) => o[0]),
        k,
        'scores',
      ),
    };
  const counts = new Array<number>(width).fill(0);
  for (const o of outputs) {
    const i = argmax(o);
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return { kind: 'classes', counts };
}

/**
 * Merges output profiles; different kinds or class counts throw PROFILE_MISMATCH.
 *
 * @example
 * mergeOutputs({ kind: 'classes', counts: [1, 0] }, { kind: 'classes', counts: [0, 2] }) // counts [1, 2]
 */
export function mergeOutputs(a: OutputProfile, b: OutputProfile): OutputProfile {
  if (a.kind === 'classes' && b.kind === 'classes' && a.counts.length === b.counts.length) {
    return { kind: 'classes', counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)) };
  }
  if (a.kind === 'scores' && b.kind === 'scores') return { kind: 'scores', scores: mergeNumeric(a.scores, b.scores) };
  throw new EdgeloopError('PROFILE_MISMATCH', `cannot merge ${outputsName(a)} outputs with ${outputsName(b)} outputs`);
}

function outputsName(o: OutputProfile): string {
  return o.kind === 'classes' ? `${o.counts.length}-class` : 'score';
}

/**
 * Profiles labelled feedback: a classes×classes confusion matrix (`actual * classes + predicted`)
 * and CALIBRATION_BINS equal-width confidence bins. Class indices outside [0, classes) or a
 * confidence outside [0, 1] throw INVALID_PROFILE.
 *
 * @example
 * feedbackProfile([{ actual: 1, predicted: 1, confidence: 0.9 }], 2).confusion // [0, 0, 0, 1]
 */
export function feedbackProfile(items: readonly FeedbackItem[], classes: number): FeedbackProfile {
  if (!Number.isInteger(classes) || classes < 2 || classes > MAX_PROFILE_CLASSES) {
    throw new EdgeloopError('INVALID_PROFILE', `feedback needs 2 to ${MAX_PROFILE_CLASSES} classes, got ${classes}`);
  }
  const confusion = new Array<number>(classes * classes).fill(0);
  const count = new Array<number>(CALIBRATION_BINS).fill(0);
  const correct = new Array<number>(CALIBRATION_BINS).fill(0);
  const confidence = new Array<number>(CALIBRATION_BINS).fill(0);
  for (const { actual, predicted, confidence: c } of items) {
    if (!isClass(actual, classes) || !isClass(predicted, classes) || !(c >= 0 && c <= 1)) {
      throw new EdgeloopError(
        'INVALID_PROFILE',
        `feedback needs classes in [0, ${classes}) and confidence in [0, 1], got ${actual}/${predicted}/${c}`,
      );
    }
    const cell = actual * classes + predicted;
    confusion[cell] = (confusion[cell] ?? 0) + 1;
    const bin = Math.min(Math.floor(c * CALIBRATION_BINS), CALIBRATION_BINS - 1);
    count[bin] = (count[bin] ?? 0) + 1;
    if (actual === predicted) correct[bin] = (correct[bin] ?? 0) + 1;
    confidence[bin] = (confidence[bin] ?? 0) + c;
  }
  return { classes, confusion, calibration: { count, correct, confidence } };
}

function isClass(x: number, classes: number): boolean {
  return Number.isInteger(x) && x >= 0 && x < classes;
}

/**
 * Merges feedback profiles; different class counts throw PROFILE_MISMATCH.
 *
 * @example
 * mergeFeedback(feedbackProfile([], 2), feedbackProfile([], 2)).classes // 2
 */
export function mergeFeedback(a: FeedbackProfile, b: FeedbackProfile): FeedbackProfile {
  if (a.classes !== b.classes) {
    throw new EdgeloopError(
      'PROFILE_MISMATCH',
      `cannot merge ${a.classes}-class feedback with ${b.classes}-class feedback`,
    );
  }
  const add = (x: readonly number[], y: readonly number[]) => x.map((v, i) => v + (y[i] ?? 0));
  return {
    classes: a.classes,
    confusion: add(a.confusion, b.confusion),
    calibration: {
      count: add(a.calibration.count, b.calibration.count),
      correct: add(a.calibration.correct, b.calibration.correct),
      confidence: add(a.calibration.confidence, b.calibration.confidence),
    },
  };
}
