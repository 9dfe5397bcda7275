import { describe, expect, it } from 'vitest';
import {
  decideRegression,
  guessNote,
  judgeRegression,
  MAX_STANDARD_R2_DROP,
  regressionStandardCheck,
} from './regression-guard.ts';

const values = [1, 2, 3, 4, 5, 6, 7, 8];

describe('the regression guard', () => {
  it('judges squared errors against what serves and against guessing the mean', () => {
    const current = values.map(() => 0);
    const candidate = values.map((x) => x + 0.1);
    const guess = values.map(() => 4.5);
    const judgement = judgeRegression('holdout', 1, values, current, candidate, guess);
    expect(judgement).toMatchObject({ task: 'regression', method: 'holdout', judged: 8, closerCount: 8 });
    expect(judgement.currentRmse).toBeCloseTo(Math.sqrt(204 / 8), 9);
    expect(judgement.candidateRmse).toBeCloseTo(0.1, 9);
    // Every difference positive: the exact one-sided signed-rank p is 1 / 2⁸.
    expect(judgement.betterP).toBeCloseTo(1 / 256, 12);
    expect(judgement.chanceP).toBeCloseTo(1 / 256, 12);
    expect(guessNote(judgement)).toBeNull();
    const standard = regressionStandardCheck(values, values, values);
    expect(standard).toEqual({ task: 'regression', examples: 8, registry: 0, candidate: 0, r2Drop: 0 });
    expect(decideRegression(judgement, standard, 2)).toEqual([]);
  });

  it('counts the standard cost in points of R², and names each reason with its numbers', () => {
    // Spread of the values: Σ (x − 4.5)² = 42; the candidate adds 0.99 of squared error: 2.4 points.
    const worse = values.map((x, i) => x + (i < 4 ? 0.3 : -0.3) + (i === 0 ? 0.3 : 0));
    const standard = regressionStandardCheck(values, values, worse);
    expect(standard.r2Drop).toBeCloseTo((7 * 0.09 + 0.36) / 42, 9);
    expect(standard.r2Drop).toBeGreaterThan(MAX_STANDARD_R2_DROP);
    const same = values.map((x) => x + 1);
    const judgement = judgeRegression(
      'cross-validation',
      3,
      values,
      same,
      same,
      values.map(() => 4.5),
    );
    expect(judgement).toMatchObject({ folds: 3, closerCount: 0, betterP: 1 });
    const reasons = decideRegression(judgement, standard, 4);
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toMatch(
      /not clearly better than what you are served now \(closer on 0 of 8; signed-rank p = 1\.000 > 0\.1\)/,
    );
    expect(reasons[1]).toMatch(
      /costs 2\.4 points of standard held-out R² relative to v4's own weights \(RMSE 0\.00 → 0\.352 on 8; at most 1\)/,
    );
    expect(guessNote(judgement)).toMatch(/not clearly better than answering their mean/);
  });
});
