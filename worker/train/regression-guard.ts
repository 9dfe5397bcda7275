import type * as v from 'valibot';
import type { Judgement, RegressionJudgement, RegressionStandardCheck } from '../../protocol/train.ts';
import { BETTER_ALPHA, CHANCE_ALPHA, signedRankP } from './guard.ts';

/**
 * The most standard held-out R² a regression candidate may cost against the registry weights
 * (1 point, as a classifier's 1 point of accuracy): scaled by the spread of the true values, so
 * it means the same for prices and for probabilities, and for a registry model that is nearly
 * exact (a bound relative to its own error would refuse any fine-tune of it).
 */
export const MAX_STANDARD_R2_DROP = 0.01;

const rmse = (squares: number, n: number) => (n === 0 ? 0 : Math.sqrt(squares / n));
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Each answer's squared error against the true value. */
function squaredErrors(values: ArrayLike<number>, answers: ArrayLike<number>): number[] {
  return Array.from({ length: values.length }, (_, i) => ((answers[i] as number) - (values[i] as number)) ** 2);
}

/**
 * The judgement of a regression candidate against the served model on the user's true values
 * neither trained on: `current` and `candidate` answer each judged example (one value each), and
 * `guess` is what guessing answers there (the mean of the values that example's fit learnt from).
 *
 * @example
 * judgeRegression('cross-validation', 3, values, current, candidate, guesses);
 */
export function judgeRegression(
  method: Judgement['method'],
  folds: number,
  values: ArrayLike<number>,
  current: ArrayLike<number>,
  candidate: ArrayLike<number>,
  guess: ArrayLike<number>,
): v.InferOutput<typeof RegressionJudgement> {
  const n = values.length;
  const [c, k, g] = [current, candidate, guess].map((answers) => squaredErrors(values, answers)) as [
    number[],
    number[],
    number[],
  ];
  // Positive where the candidate's error is the smaller: the tests' alternative.
  const over = (other: number[]) => other.map((e, i) => e - (k[i] as number));
  return {
    task: 'regression',
    method,
    judged: n,
    ...(method === 'cross-validation' ? { folds } : {}),
    currentRmse: rmse(sum(c), n),
    candidateRmse: rmse(sum(k), n),
    closerCount: over(c).filter((d) => d > 0).length,
    betterP: signedRankP(over(c)),
    chanceP: signedRankP(over(g)),
  };
}

/**
 * Standard held-out RMSE of the registry weights and of the candidate on the same examples
 * (`values` their true values, one per example).
 */
export function regressionStandardCheck(
  values: ArrayLike<number>,
  registry: ArrayLike<number>,
  candidate: ArrayLike<number>,
): v.InferOutput<typeof RegressionStandardCheck> {
  const n = values.length;
  const before = sum(squaredErrors(values, registry));
  const after = sum(squaredErrors(values, candidate));
  const mean = sum(Array.from(values)) / Math.max(1, n);
  const spread = sum(squaredErrors(values, new Array<number>(n).fill(mean)));
  const cost = after - before;
  return {
    task: 'regression',
    examples: n,
    registry: rmse(before, n),
    candidate: rmse(after, n),
    // Values all alike: any added error is a full point lost.
    r2Drop: n === 0 || cost <= 0 ? Math.min(0, cost / Math.max(spread, 1e-12)) : spread > 0 ? cost / spread : 1,
  };
}

const decimal = (x: number) => x.toPrecision(3);

/**
 * A note when the candidate is not clearly better than answering the mean of the user's values
 * (signed-rank p > 0.01), or null.
 *
 * @example
 * guessNote(judgement); // 'on your held-out values it is not clearly better than answering their mean …'
 */
export function guessNote(judgement: v.InferOutput<typeof RegressionJudgement>): string | null {
  if (judgement.chanceP <= CHANCE_ALPHA) return null;
  return `on your held-out values it is not clearly better than answering their mean (signed-rank p = ${judgement.chanceP.toFixed(3)} > ${CHANCE_ALPHA}): your values may depend little on the input`;
}

/**
 * Why a regression candidate must not be applied (empty: apply it), the counterpart of
 * guard.ts `decide`: on the user's judged values an RMSE no larger than what is served now,
 * squared errors significantly smaller (one-sided Wilcoxon signed-rank, p ≤ 0.1), and
 * significantly smaller than guessing the mean (p ≤ 0.01); at most 1 point of standard held-out R².
 *
 * @example
 * decideRegression(judgement, standard, 3); // [] or ['…', …]
 */
export function decideRegression(
  judgement: v.InferOutput<typeof RegressionJudgement>,
  standard: v.InferOutput<typeof RegressionStandardCheck>,
  version: number,
): string[] {
  const reasons: string[] = [];
  const { judged, currentRmse, candidateRmse, closerCount, betterP } = judgement;
  if (candidateRmse > currentRmse) {
    reasons.push(
      `on your held-out values its error is larger than what you are served now (RMSE ${decimal(candidateRmse)} vs ${decimal(currentRmse)} on ${judged})`,
    );
  }
  if (betterP > BETTER_ALPHA) {
    reasons.push(
      `on your held-out values it is not clearly better than what you are served now (closer on ${closerCount} of ${judged}; signed-rank p = ${betterP.toFixed(3)} > ${BETTER_ALPHA})`,
    );
  }
  if (standard.r2Drop > MAX_STANDARD_R2_DROP) {
    reasons.push(
      `it costs ${(standard.r2Drop * 100).toFixed(1)} points of standard held-out R² relative to v${version}'s own weights (RMSE ${decimal(standard.registry)} → ${decimal(standard.candidate)} on ${standard.examples}; at most ${MAX_STANDARD_R2_DROP * 100})`,
    );
  }
  return reasons;
}
