import { describe, expect, it } from 'vitest';
import type { StandardCheck } from '../../protocol/train.ts';

import {
  binomialTail,
  decide,
  FEW_FOLDS_FROM,
  HOLDOUT_FROM,
  judge,
  MIN_JUDGED,
  planJudging,
  signedRankP,
  standardCheck,
} from './guard.ts';

/** Probabilities rows for 3 classes, each putting `p` on `label` and the rest evenly. */
function rows(labels: number[], p: number): Float32Array {
  return Float32Array.from(labels.flatMap((label) => [0, 1, 2].map((c) => (c === label ? p : (1 - p) / 2))));
}

type ClassCheck = Extract<StandardCheck, { task: 'classification' }>;

describe('planJudging', () => {
  it('holds out 20% from 100 examples on, the same way for the same ids', () => {
    const plan = planJudging(120, 'a,b,c');
    expect(plan).toMatchObject({ method: 'holdout', folds: 1 });
    expect(plan.fold.filter((f) => f === 0)).toHaveLength(24);
    expect(plan.fold.filter((f) => f === -1)).toHaveLength(96);
    expect(planJudging(120, 'a,b,c').fold).toEqual(plan.fold);
    expect(planJudging(120, 'other').fold).not.toEqual(plan.fold);
    expect(planJudging(HOLDOUT_FROM, 'x').fold.filter((f) => f === 0)).toHaveLength(20);
    expect(MIN_JUDGED).toBeLessThanOrEqual(20);
  });

  it('cross-validates below 100: every example judged once, 5 folds under 30 and 3 from there, as even as can be', () => {
    const plan = planJudging(12, 'ids');
    expect(plan).toMatchObject({ method: 'cross-validation', folds: 5 });
    const sizes = [0, 1, 2, 3, 4].map((f) => plan.fold.filter((g) => g === f).length);
    expect(sizes.sort()).toEqual([2, 2, 2, 3, 3]);
    expect(planJudging(5, 'ids').folds).toBe(5);
    const fifty = planJudging(50, 'ids');
    expect(fifty).toMatchObject({ method: 'cross-validation', folds: 3 });
    expect([0, 1, 2].map((f) => fifty.fold.filter((g) => g === f).length).sort()).toEqual([16, 17, 17]);
    expect(planJudging(FEW_FOLDS_FROM - 1, 'ids').folds).toBe(5);
  });
});

describe('signedRankP', () => {
  it('is the exact upper tail of W+, ties included', () => {
    // Ranks 1 (−0.1), 2, 3, 4: W+ = 9; of 16 sign patterns only {2,3,4} and {1,2,3,4} reach 9.
    expect(signedRankP([0.5, 1.2, -0.1, 0.8])).toBeCloseTo(2 / 16, 12);
    expect(signedRankP([1, 2, 3])).toBeCloseTo(1 / 8, 12);
    expect(signedRankP([-1, -2, -3])).toBe(1);
    expect(signedRankP([0, 0])).toBe(1);
    // Two tied sizes share rank 1.5: W+ = 1.5 + 3 = 4.5, reached by 3 of the 8 patterns (4.5, 4.5, 6).
    expect(signedRankP([1, -1, 2])).toBeCloseTo(3 / 8, 12);
  });
});

describe('binomialTail', () => {
  it('is the exact upper tail', () => {
    expect(binomialTail(0, 10, 0.3)).toBe(1);
    expect(binomialTail(11, 10, 0.3)).toBe(0);
    expect(binomialTail(10, 10, 0.5)).toBeCloseTo(1 / 1024, 12);
    expect(binomialTail(4, 5, 0.5)).toBeCloseTo(6 / 32, 12);
    // P(X ≥ 2) for Bin(3, 0.1) = 3·0.01·0.9 + 0.001
    expect(binomialTail(2, 3, 0.1)).toBeCloseTo(0.028, 12);
  });
});

describe('judge and decide', () => {
  const standardOk: ClassCheck = {
    task: 'classification',
    examples: 100,
    registry: 0.97,
    candidate: 0.965,
    drop: 0.005,
    dropCi95: 0.004,
  };

  it('applies a candidate right more often, likelier on most examples and far from guessing', () => {
    const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2];
    const current = rows(
      labels.map((l) => (l + 1) % 3),
      0.6,
    ); // wrong everywhere
    const candidate = rows(labels, 0.8);
    const judgement = judge('holdout', 1, labels, current, candidate, 3);
    expect(judgement).toMatchObject({ judged: 12, currentCorrect: 0, candidateCorrect: 12, likelierCount: 12 });
    expect(judgement.betterP).toBeCloseTo(1 / 4096, 9);
    expect(decide(judgement, standardOk, 3, 1)).toEqual([]);
  });

  it('refuses, naming each reason with its numbers: guessing, fewer right, not likelier, standard cost', () => {
    const labels = [0, 1, 2, 0, 1, 2];
    const current = rows(labels, 0.5);
    const candidate = rows(
      labels.map((l) => (l + 1) % 3),
      0.5,
    );
    const judgement = judge('cross-validation', 5, labels, current, candidate, 3);
    expect(judgement).toMatchObject({ folds: 5, currentCorrect: 6, candidateCorrect: 0, likelierCount: 0 });
    const costly: ClassCheck = {
      task: 'classification',
      examples: 2000,
      registry: 0.973,
      candidate: 0.95,
      drop: 0.023,
      dropCi95: 0.006,
    };
    const reasons = decide(judgement, costly, 3, 4);
    expect(reasons).toHaveLength(4);
    expect(reasons[0]).toMatch(/no better than guessing one of 3 \(0 of 6 right, p = 1\.000 > 0\.01\)/);
    expect(reasons[1]).toMatch(/right less often than what you are served now \(0 vs 6 of 6\)/);
    expect(reasons[2]).toMatch(/not clearly better .* \(label likelier on 0 of 6; signed-rank p = 1\.000 > 0\.1\)/);
    expect(reasons[3]).toMatch(
      /costs 2\.3 points of standard held-out accuracy relative to v4's own weights \(97\.3% → 95\.0% on 2000; at most 1\.0\)/,
    );
  });

  it('a candidate equal to what is served is not better', () => {
    const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
    const same = rows(labels, 0.7);
    const judgement = judge('holdout', 1, labels, same, same, 3);
    expect(judgement.likelierCount).toBe(0);
    expect(judgement.betterP).toBe(1);
    expect(decide(judgement, standardOk, 3, 1)).toHaveLength(1);
  });
});

describe('standardCheck', () => {
  it('reports both accuracies, the drop and its paired interval', () => {
    const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
    const registry = rows(labels, 0.9);
    const candidate = rows([0, 1, 2, 0, 1, 2, 0, 1, 2, 1], 0.9); // one more wrong
    const check = standardCheck(labels, registry, candidate, 3);
    expect(check).toMatchObject({ examples: 10, registry: 1, candidate: 0.9 });
    expect(check.drop).toBeCloseTo(0.1, 12);
    // differences: one 1, nine 0 → sample sd √(0.1) · √(10/9)… over √10
    expect(check.dropCi95).toBeCloseTo(1.96 * Math.sqrt(((0.1 - 0.01) * 10) / 9 / 10), 9);
  });
});
