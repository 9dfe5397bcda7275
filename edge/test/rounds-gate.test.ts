import { describe, expect, it } from 'vitest';
import { decideGate } from '../src/rounds/gate.ts';

// The gate's decision alone: thresholds per set, and sets too small to judge.

describe('the gate', () => {
  it('reports a set of fewer than minExamples examples without judging it', () => {
    const decision = decideGate(
      [
        { set: 'holdout', examples: 2000, baseline: 0.973, candidate: 0.962 },
        { set: 'fleet', examples: 9, baseline: 7 / 9, candidate: 4 / 9 },
      ],
      { maxDrop: 0.12 },
      [],
    );
    expect(decision.blessed).toBe(true);
    expect(decision.reasons).toEqual([
      'pass: holdout accuracy 96.20% on 2000 vs baseline 97.30% (-1.10 points; at most 12.00 below)',
      'skip: fleet accuracy 44.44% on 9: fewer than 30 examples, too few to judge',
    ]);
  });

  it('judges a small set when the policy allows it, and refuses when no set can be judged', () => {
    const fleet = { set: 'fleet' as const, examples: 9, baseline: 7 / 9, candidate: 4 / 9 };
    expect(decideGate([fleet], { maxDrop: 0.12, minExamples: 5 }, []).blessed).toBe(false);
    const none = decideGate([fleet], { maxDrop: 0.12 }, []);
    expect(none.blessed).toBe(false);
    expect(none.reasons.at(-1)).toBe('fail: nothing to evaluate the candidate on');
  });
});
