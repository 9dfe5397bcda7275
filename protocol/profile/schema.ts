import * as v from 'valibot';
import { jsonRecord } from '../names.ts';
import { kllLevels } from './kll.ts';

/** KLL sketch size by default: normalised rank error about 1.65% at 99% confidence. */
export const KLL_DEFAULT_K = 200;
/** Categories a categorical profile keeps by count; the rest are summed in `other`. */
export const DEFAULT_TOP_N = 50;
/** Equal-width confidence bins for expected calibration error. */
export const CALIBRATION_BINS = 10;
export const MAX_PROFILE_FEATURES = 256;
/** Classes an output or feedback profile may have (a confusion matrix is classes²). */
export const MAX_PROFILE_CLASSES = 256;

const Count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const Finite = v.pipe(v.number(), v.finite());
const FeatureName = v.pipe(v.string(), v.minLength(1), v.maxLength(128));

/**
 * A KLL quantile sketch (Karnin, Lang & Liberty 2016). `levels[h]` holds the items of
 * weight 2^h, sorted, as base64 of little-endian float32; `n` is the number of values summarised.
 */
export const KllSketch = v.pipe(
  v.strictObject({
    k: v.pipe(v.number(), v.integer(), v.minValue(8), v.maxValue(1024)),
    n: Count,
    levels: v.pipe(v.array(v.pipe(v.string(), v.maxLength(65_536))), v.maxLength(64)),
  }),
  v.check(
    (sketch) => sketchConsistent(sketch),
    'KLL levels must be base64 float32 of sorted finite items whose weights (2^level) sum to n',
  ),
);
export type KllSketch = v.InferOutput<typeof KllSketch>;

/**
 * One numeric feature. `count` is every row seen, `missing` the null/absent ones, `nan`,
 * `posInf`, `negInf` the non-finite ones; the rest (finite values) are in min/max, mean/m2
 * (Welford; merged with Chan's parallel formula) and the sketch. min/max are null when no
 * finite value was seen (JSON has no Infinity).
 */
export const NumericProfile = v.strictObject({
  kind: v.literal('numeric'),
  count: Count,
  missing: Count,
  nan: Count,
  posInf: Count,
  negInf: Count,
  min: v.nullable(Finite),
  max: v.nullable(Finite),
  mean: Finite,
  m2: v.pipe(Finite, v.minValue(0)),
  sketch: KllSketch,
});
export type NumericProfile = v.InferOutput<typeof NumericProfile>;

/** One categorical feature: counts of the top `topN` values, the rest summed in `other`. */
export const CategoricalProfile = v.strictObject({
  kind: v.literal('categorical'),
  count: Count,
  missing: Count,
  topN: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
  values: jsonRecord(v.pipe(v.string(), v.maxLength(256)), Count),
  other: Count,
});
export type CategoricalProfile = v.InferOutput<typeof CategoricalProfile>;

export const FeatureProfile = v.pipe(
  v.variant('kind', [NumericProfile, CategoricalProfile]),
  v.check(
    (p) => (p.kind === 'numeric' ? numericConsistent(p) : categoricalConsistent(p)),
    'feature counts must add up (count = missing + the rest) and min/max must match the values seen',
  ),
);
export type FeatureProfile = v.InferOutput<typeof FeatureProfile>;

/** Model outputs: predicted-class counts for classifiers, score quantiles for one-output models. */
export const OutputProfile = v.variant('kind', [
  v.strictObject({
    kind: v.literal('classes'),
    counts: v.pipe(v.array(Count), v.minLength(2), v.maxLength(MAX_PROFILE_CLASSES)),
  }),
  v.strictObject({
    kind: v.literal('scores'),
    scores: v.pipe(NumericProfile, v.check(numericConsistent, 'score counts must add up')),
  }),
]);
export type OutputProfile = v.InferOutput<typeof OutputProfile>;

/**
 * Labelled feedback: `confusion[actual * classes + predicted]`, and per confidence bin (of the
 * predicted class's probability) how many predictions, how many correct, and their summed confidence.
 */
export const FeedbackProfile = v.pipe(
  v.strictObject({
    classes: v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(MAX_PROFILE_CLASSES)),
    confusion: v.array(Count),
    calibration: v.strictObject({
      count: v.array(Count),
      correct: v.array(Count),
      confidence: v.array(v.pipe(Finite, v.minValue(0))),
    }),
  }),
  v.check(
    (f) =>
      f.confusion.length === f.classes * f.classes &&
      [f.calibration.count, f.calibration.correct, f.calibration.confidence].every(
        (a) => a.length === CALIBRATION_BINS,
      ) &&
      f.calibration.count.every(
        (n, b) => (f.calibration.correct[b] ?? 0) <= n && (f.calibration.confidence[b] ?? 0) <= n,
      ),
    'feedback needs classes² confusion cells and CALIBRATION_BINS bins with correct and confidence at most count',
  ),
);
export type FeedbackProfile = v.InferOutput<typeof FeedbackProfile>;

/**
 * A mergeable summary of rows, outputs and feedback (README.md, Drift and data quality): plain JSON, so it can be
 * stored in IndexedDB, sent to the edge and kept in a Durable Object as it is.
 */
export const Profile = v.pipe(
  v.strictObject({
    v: v.literal(1),
    count: Count,
    features: jsonRecord(FeatureName, FeatureProfile),
    outputs: v.optional(OutputProfile),
    feedback: v.optional(FeedbackProfile),
  }),
  v.check((p) => Object.keys(p.features).length <= MAX_PROFILE_FEATURES, `at most ${MAX_PROFILE_FEATURES} features`),
  v.check(
    (p) => p.outputs?.kind !== 'classes' || !p.feedback || p.outputs.counts.length === p.feedback.classes,
    'outputs and feedback must have the same number of classes',
  ),
);
export type Profile = v.InferOutput<typeof Profile>;

/** A row to profile: feature name → value; null/undefined (or absent) is missing. */
export type ProfileRow = Readonly<Record<string, number | string | null | undefined>>;

/** The part of a manifest's feature schema profiles need. */
export interface ProfileSchema {
  readonly features: readonly { readonly name: string; readonly kind: 'numeric' | 'categorical' }[];
}

function sketchConsistent(sketch: { k: number; n: number; levels: string[] }): boolean {
  try {
    let weight = 0;
    for (const [h, level] of kllLevels(sketch).entries()) {
      // Finite, and sorted: merging relies on it.
      if (!level.every((x, i) => Number.isFinite(x) && (i === 0 || (level[i - 1] as number) <= x))) return false;
      weight += level.length * 2 ** h;
    }
    return weight === sketch.n;
  } catch {
    return false;
  }
}

function numericConsistent(p: NumericProfile): boolean {
  const n = p.sketch.n;
  return (
    p.count === p.missing + p.nan + p.posInf + p.negInf + n &&
    (n === 0 ? p.min === null && p.max === null : p.min !== null && p.max !== null && p.min <= p.max)
  );
}

function categoricalConsistent(p: CategoricalProfile): boolean {
  const kept = Object.values(p.values);
  return kept.length <= p.topN && p.count === p.missing + p.other + kept.reduce((s, c) => s + c, 0);
}
