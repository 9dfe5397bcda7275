import * as v from 'valibot';
import { BackendName } from './worker-api.ts';

/** On-device learning messages (page ↔ worker): train, its progress and result, suggest, revert. */

/**
 * `train`'s options. A fine-tune trains a personal copy of the model's head (the dense layers
 * after its last feature layer) and a gate that recognises the user's inputs; see
 * worker/train/README.md for the method and its measurements.
 */
export const TrainOptions = v.strictObject({
  v: v.literal(1),
  /** Passes over the user's (augmented) examples. */
  epochs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(50)), 6),
  /** Replay examples (the model's own, distilled from its registry weights) per user example in each batch. */
  replayRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(8)), 1),
  learningRate: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(1)), 0.003),
  /** Small random shifts, rotations and scalings of each example (image inputs only). */
  augment: v.optional(v.boolean(), true),
});
export type TrainOptions = v.InferInput<typeof TrainOptions>;

/** After each epoch of the candidate's fit; `fold` counts cross-validation fits (absent for the final fit). */
export const TrainProgress = v.object({
  v: v.literal(1),
  epoch: v.number(),
  epochs: v.number(),
  loss: v.number(),
  fold: v.optional(v.object({ index: v.number(), of: v.number() })),
});
export type TrainProgress = v.InferOutput<typeof TrainProgress>;

/**
 * How the candidate was judged on the user's own labels, never on examples it trained on:
 * `holdout` keeps a slice out of training; `cross-validation` (few examples) judges each example
 * with a fit on the other folds. `current` is what the user is served now.
 */
const JudgedOn = {
  method: v.picklist(['holdout', 'cross-validation']),
  judged: v.number(),
  folds: v.optional(v.number()),
};

/** A classifier's judgement: right answers and the probability given to each label. */
export const ClassJudgement = v.object({
  task: v.literal('classification'),
  ...JudgedOn,
  currentCorrect: v.number(),
  candidateCorrect: v.number(),
  /** Judged examples whose label the candidate gives a higher probability than the current model. */
  likelierCount: v.number(),
  /**
   * One-sided Wilcoxon signed-rank test of the log-probability each gives the labels (the null:
   * the candidate is no better than what is served now).
   */
  betterP: v.number(),
  /** One-sided binomial test of `candidateCorrect` against guessing (1 / classes). */
  chanceP: v.number(),
});

/** A regression model's judgement: the error of each answer against the user's true values. */
export const RegressionJudgement = v.object({
  task: v.literal('regression'),
  ...JudgedOn,
  /** Root mean squared error on the judged examples. */
  currentRmse: v.number(),
  candidateRmse: v.number(),
  /** Judged examples the candidate answers closer to the true value than the current model. */
  closerCount: v.number(),
  /** One-sided Wilcoxon signed-rank test of the squared errors (the null: no better than what is served now). */
  betterP: v.number(),
  /**
   * The same test against guessing: answering every example with the mean of the values the fit
   * learnt from, which a fit of values unrelated to the input never beats (reported in the
   * note, not a refusal: such a fit still answers this user better than one far from their values).
   */
  chanceP: v.number(),
});

export const Judgement = v.variant('task', [ClassJudgement, RegressionJudgement]);
export type Judgement = v.InferOutput<typeof Judgement>;

/** Standard held-out accuracy of the registry version's own weights and of the candidate. */
export const ClassStandardCheck = v.object({
  task: v.literal('classification'),
  examples: v.number(),
  registry: v.number(),
  candidate: v.number(),
  /** registry − candidate, in accuracy (0.01 is one point). */
  drop: v.number(),
  /** Half-width of the 95% interval of `drop` (paired, from the examples the two disagree on). */
  dropCi95: v.number(),
});

/** Standard held-out RMSE of the registry version's own weights and of the candidate. */
export const RegressionStandardCheck = v.object({
  task: v.literal('regression'),
  examples: v.number(),
  registry: v.number(),
  candidate: v.number(),
  /**
   * What the candidate costs in R² (coefficient of determination) on these examples: its mean
   * squared error minus the registry's, over the variance of their true values (0.01 is one
   * point, as one point of accuracy is for a classifier).
   */
  r2Drop: v.number(),
});

/** No standard check: the examples count is 0 when the version ships no holdout file. */
export const StandardCheck = v.variant('task', [ClassStandardCheck, RegressionStandardCheck]);
export type StandardCheck = v.InferOutput<typeof StandardCheck>;

export const TrainResult = v.object({
  v: v.literal(1),
  /** Where the candidate trained (WebGPU falls back when its gradients disagree with cpu's; see `note`). */
  backend: BackendName,
  /** The user's labelled examples used (deduplicated, most recent first, bounded). */
  examples: v.number(),
  /** Of those, how many judged the candidate rather than trained it (all of them under cross-validation). */
  judgedExamples: v.number(),
  replayExamples: v.number(),
  epochs: v.number(),
  durationMs: v.number(),
  /** What was learnt: a classifier's labels (cross-entropy, accuracy) or a regression model's values (squared error, RMSE). */
  task: v.picklist(['classification', 'regression']),
  /**
   * The task's score on the standard held-out set (accuracy; RMSE for regression, lower is
   * better): the registry version's own weights (before) and the candidate (after). Both 0 when
   * the version ships no holdout file (`standard.examples` is 0).
   */
  holdoutBefore: v.number(),
  holdoutAfter: v.number(),
  /** The task's score on the judged examples: what is served now (before) and the candidate (after). */
  feedbackBefore: v.number(),
  feedbackAfter: v.number(),
  judgement: Judgement,
  standard: StandardCheck,
  /** The registry version the fine-tune is built on; predictions keep reporting it. */
  version: v.number(),
  /** The new weights exist only on this device: a local fine-tune, not a registry version. */
  localFineTune: v.literal(true),
  /** Whether the candidate now serves (and is stored); when false nothing changed and `reasons` say why. */
  applied: v.boolean(),
  reasons: v.array(v.string()),
  /** What happened, in words (which backend trained and why, what was judged, the decision). */
  note: v.string(),
  /** The experiment run on the edge that records this fine-tune (`GET /v1/runs/{runId}`). */
  runId: v.optional(v.string()),
  /**
   * Why the run was not (fully) recorded, e.g. the edge was unreachable. Training never depends
   * on the network: it completes either way.
   */
  runError: v.optional(v.string()),
});
export type TrainResult = v.InferOutput<typeof TrainResult>;

/**
 * `suggest`'s options: the `k` recorded, unlabelled predictions of the loaded model it is least
 * sure of now, by `margin` (top probability minus the second: smallest first) or `entropy`
 * (largest first), among the `scan` most recent.
 */
export const SuggestOptions = v.strictObject({
  v: v.literal(1),
  k: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)), 5),
  by: v.optional(v.picklist(['margin', 'entropy']), 'margin'),
  scan: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5000)), 500),
});
export type SuggestOptions = v.InferInput<typeof SuggestOptions>;

export const Suggestion = v.object({
  predictionId: v.string(),
  ts: v.number(),
  /** The model's answer now (with the personal fine-tune, if one serves). */
  label: v.number(),
  outputs: v.array(v.number()),
  margin: v.number(),
  entropy: v.number(),
  /** The recorded input, so the app can show it (as `predict` took it). */
  input: v.instance(Float32Array),
});
export type Suggestion = v.InferOutput<typeof Suggestion>;

export const SuggestResult = v.object({
  v: v.literal(1),
  by: v.picklist(['margin', 'entropy']),
  /** Unlabelled predictions looked at. */
  scanned: v.number(),
  suggestions: v.array(Suggestion),
});
export type SuggestResult = v.InferOutput<typeof SuggestResult>;

/** `revert`'s answer: whether a personal fine-tune was removed; the registry weights serve either way. */
export const RevertResult = v.object({
  v: v.literal(1),
  model: v.string(),
  version: v.number(),
  reverted: v.boolean(),
});
export type RevertResult = v.InferOutput<typeof RevertResult>;
