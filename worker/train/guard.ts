import type * as v from 'valibot';
import { argmax } from '../../protocol/argmax.ts';
import { seededRandom } from '../../protocol/random.ts';
import type { ClassJudgement, ClassStandardCheck, Judgement } from '../../protocol/train.ts';

/** Fewer labelled examples than this are not enough to judge a candidate: nothing is trained. */
export const MIN_EXAMPLES = 5;
/**
 * From this many examples on a held-out slice judges; below it cross-validation does, with
 * MAX_FOLDS folds under FEW_FOLDS_FROM examples and FEW_FOLDS from there (each fold then still
 * holds a dozen labels, and the fits stay within the time budget).
 */
export const HOLDOUT_FROM = 100;
export const FEW_FOLDS_FROM = 30;
export const FEW_FOLDS = 3;
/** Share of the examples held out (at least MIN_JUDGED): 20 of 100 judge as many as a 3-fold split of 60 does. */
export const HOLDOUT_SHARE = 0.2;
export const MIN_JUDGED = 10;
export const MAX_FOLDS = 5;
/** The most standard held-out accuracy a candidate may cost, relative to the registry weights (1 point). */
export const MAX_STANDARD_DROP = 0.01;
/** Significance the candidate needs against guessing, and against what is served now. */
export const CHANCE_ALPHA = 0.01;
export const BETTER_ALPHA = 0.1;

/**
 * How `n` examples are judged: `fold[i]` is the fold example i is judged in. With a held-out
 * slice there is one fold (0: judged, -1: trains only); with cross-validation every example is
 * judged once, by a fit on the other folds. The assignment is a seeded shuffle of `seedText` (the
 * examples' ids), so the same examples are split the same way every time.
 *
 * @example
 * planJudging(120, ids); // { method: 'holdout', folds: 1, fold: [-1, 0, -1, …] } with 24 zeros
 * planJudging(50, ids); // { method: 'cross-validation', folds: 3, fold: [2, 0, 1, …] }
 */
export function planJudging(
  n: number,
  seedText: string,
): { method: Judgement['method']; folds: number; fold: number[] } {
  const order = shuffled(n, seedText);
  const fold = new Array<number>(n).fill(-1);
  if (n >= HOLDOUT_FROM) {
    const judged = Math.max(MIN_JUDGED, Math.round(n * HOLDOUT_SHARE));
    for (const i of order.slice(0, judged)) fold[i] = 0;
    return { method: 'holdout', folds: 1, fold };
  }
  const folds = Math.min(n >= FEW_FOLDS_FROM ? FEW_FOLDS : MAX_FOLDS, n);
  order.forEach((i, k) => {
    fold[i] = k % folds;
  });
  return { method: 'cross-validation', folds, fold };
}

/**
 * A seed from text (FNV-style): the examples' ids seed their split and the fit's random draws,
 * so the same labels give the same candidate and the same judgement.
 *
 * @example
 * const random = seededRandom(seedOf(examples.ids.join(',')));
 */
export function seedOf(text: string): number {
  let seed = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return seed;
}

function shuffled(n: number, seedText: string): number[] {
  const random = seededRandom(seedOf(seedText));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** P(X ≥ k) for X ~ Binomial(n, p), summed in log space (exact for the sizes used here). */
export function binomialTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  let total = 0;
  let logChoose = 0; // log C(n, 0)
  for (let i = 0; i <= n; i++) {
    if (i > 0) logChoose += Math.log((n - i + 1) / i);
    if (i >= k) total += Math.exp(logChoose + i * Math.log(p) + (n - i) * Math.log1p(-p));
  }
  return Math.min(1, total);
}

/**
 * One-sided Wilcoxon signed-rank test: P(W+ ≥ observed) when each difference's sign is a coin
 * flip, exact (ranks doubled to integers, so tied ranks stay exact). Zeros are dropped.
 *
 * @example
 * signedRankP([0.5, 1.2, -0.1, 0.8]); // 0.125
 */
export function signedRankP(differences: readonly number[]): number {
  const nonzero = differences.filter((d) => Math.abs(d) > 1e-9);
  const n = nonzero.length;
  if (n === 0) return 1;
  const order = nonzero.map((d, i) => ({ size: Math.abs(d), positive: d > 0, i })).sort((a, b) => a.size - b.size);
  const doubled = new Array<number>(n);
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && (order[end + 1] as { size: number }).size === (order[start] as { size: number }).size) end++;
    // Average rank of positions start…end (1-based), doubled: start + end + 2.
    for (let k = start; k <= end; k++) doubled[k] = start + end + 2;
    start = end + 1;
  }
  let observed = 0;
  order.forEach((entry, k) => {
    if (entry.positive) observed += doubled[k] as number;
  });
  // counts[s]: sign assignments whose positive ranks sum to s (doubled).
  let counts = [1];
  for (const rank of doubled) {
    const next = new Array<number>(counts.length + rank).fill(0);
    counts.forEach((c, sum) => {
      next[sum] = (next[sum] as number) + c;
      next[sum + rank] = (next[sum + rank] as number) + c;
    });
    counts = next;
  }
  const total = 2 ** n;
  let tail = 0;
  for (let sum = observed; sum < counts.length; sum++) tail += counts[sum] as number;
  return Math.min(1, tail / total);
}

/** Whether row `i` of row-major probabilities (`classes` wide) picks `label`. */
function rightAt(probabilities: Float32Array, i: number, classes: number, label: number): boolean {
  return argmax(probabilities.subarray(i * classes, (i + 1) * classes)) === label;
}

/**
 * The judgement of a candidate against the served model on examples neither trained on:
 * probabilities of every class per judged example (row-major, `classes` wide).
 */
export function judge(
  method: Judgement['method'],
  folds: number,
  labels: ArrayLike<number>,
  current: Float32Array,
  candidate: Float32Array,
  classes: number,
): v.InferOutput<typeof ClassJudgement> {
  const n = labels.length;
  let currentCorrect = 0;
  let candidateCorrect = 0;
  let likelier = 0;
  const differences: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = labels[i] as number;
    if (rightAt(current, i, classes, label)) currentCorrect++;
    if (rightAt(candidate, i, classes, label)) candidateCorrect++;
    const logOf = (p: Float32Array) => Math.log(Math.max(1e-6, p[i * classes + label] as number));
    const difference = logOf(candidate) - logOf(current);
    differences.push(difference);
    if (difference > 1e-9) likelier++;
  }
  return {
    task: 'classification',
    method,
    judged: n,
    ...(method === 'cross-validation' ? { folds } : {}),
    currentCorrect,
    candidateCorrect,
    likelierCount: likelier,
    betterP: signedRankP(differences),
    chanceP: binomialTail(candidateCorrect, n, 1 / classes),
  };
}

/**
 * Standard held-out accuracy of the registry weights and of the candidate on the same examples,
 * with the paired 95% interval of the difference.
 */
export function standardCheck(
  labels: ArrayLike<number>,
  registry: Float32Array,
  candidate: Float32Array,
  classes: number,
): v.InferOutput<typeof ClassStandardCheck> {
  const n = labels.length;
  let registryCorrect = 0;
  let candidateCorrect = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i] as number;
    const r = rightAt(registry, i, classes, label) ? 1 : 0;
    const c = rightAt(candidate, i, classes, label) ? 1 : 0;
    registryCorrect += r;
    candidateCorrect += c;
    squares += (r - c) ** 2;
  }
  const drop = n === 0 ? 0 : (registryCorrect - candidateCorrect) / n;
  const variance = n > 1 ? (squares / n - drop * drop) * (n / (n - 1)) : 0;
  return {
    task: 'classification',
    examples: n,
    registry: n === 0 ? 0 : registryCorrect / n,
    candidate: n === 0 ? 0 : candidateCorrect / n,
    drop,
    dropCi95: n > 1 ? 1.96 * Math.sqrt(Math.max(0, variance) / n) : 0,
  };
}

const points = (x: number) => `${(x * 100).toFixed(1)}`;

/**
 * Why the candidate must not be applied (empty: apply it). "Better" means: right at least as
 * often as what is served now; giving the labels significantly higher log-probability (a proper
 * score: one-sided Wilcoxon signed-rank test, p ≤ 0.1); and far from guessing (binomial test
 * against 1 / classes, p ≤ 0.01), which no fit of random labels passes however confident it
 * got; and at most 1 point of standard accuracy below the registry weights.
 *
 * @example
 * const reasons = decide(judgement, standard, 10, 3); // [] or ['…', …]
 */
export function decide(
  judgement: v.InferOutput<typeof ClassJudgement>,
  standard: v.InferOutput<typeof ClassStandardCheck>,
  classes: number,
  version: number,
): string[] {
  const reasons: string[] = [];
  const { judged, currentCorrect, candidateCorrect, likelierCount, betterP, chanceP } = judgement;
  if (chanceP > CHANCE_ALPHA) {
    reasons.push(
      `on your held-out labels it is no better than guessing one of ${classes} (${candidateCorrect} of ${judged} right, p = ${chanceP.toFixed(3)} > ${CHANCE_ALPHA})`,
    );
  }
  if (candidateCorrect < currentCorrect) {
    reasons.push(
      `on your held-out labels it is right less often than what you are served now (${candidateCorrect} vs ${currentCorrect} of ${judged})`,
    );
  }
  if (betterP > BETTER_ALPHA) {
    reasons.push(
      `on your held-out labels it is not clearly better than what you are served now (label likelier on ${likelierCount} of ${judged}; signed-rank p = ${betterP.toFixed(3)} > ${BETTER_ALPHA})`,
    );
  }
  if (standard.drop > MAX_STANDARD_DROP) {
    reasons.push(
      `it costs ${points(standard.drop)} points of standard held-out accuracy relative to v${version}'s own weights (${points(standard.registry)}% → ${points(standard.candidate)}% on ${standard.examples}; at most ${points(MAX_STANDARD_DROP)})`,
    );
  }
  return reasons;
}
