import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Policy, type PolicyInfo, type Round } from '../../protocol/rounds.ts';
import { sampleRound } from '../../protocol/test/rounds.ts';
import { epsilon, printPolicy, printRound, printRounds, privacyLine, roundRows } from './rounds-view.ts';

const T = Date.UTC(2026, 10, 29, 10, 0, 0);

const round = (overrides: Partial<Round> = {}): Round => sampleRound(T, 600_000, overrides);

const done = round({
  id: 'r_done',
  status: 'done',
  closedAt: T + 300_000,
  contributors: 5,
  eligible: 12,
  examples: 480,
  clipped: 1,
  privacy: { epsilon: 2.3456, delta: 1e-5, q: 0.41666, noiseMultiplier: 1.1, order: 8 },
  candidateVersion: 3,
  gate: {
    blessed: true,
    reasons: ['accuracy 0.953 ≥ 0.9', 'drop 0.002 ≤ 0.01'],
    metrics: [{ set: 'holdout', examples: 2000, baseline: 0.951, candidate: 0.953 }],
    at: T + 310_000,
  },
  reason: 'canary v3 at 10%',
});
const noiseless = round({
  id: 'r_nonoise',
  status: 'gating',
  privacy: { epsilon: null, delta: 1e-5, q: 1, noiseMultiplier: 0, order: 2 },
  candidateVersion: 4,
  gate: { blessed: false, reasons: ['drop 0.05 > 0.01'], metrics: [], at: T },
});

function lines(print: (out: (line: string) => void) => void): string[] {
  const out: string[] = [];
  print((line) => out.push(line));
  return out;
}

describe('epsilon', () => {
  it('shows ∞ for null and three significant digits otherwise', () => {
    expect(epsilon(null)).toBe('∞');
    expect(epsilon(2.3456)).toBe('2.35');
    expect(epsilon(1234.5)).toBe('1230');
    expect(epsilon(0.000123456)).toBe('0.000123');
  });
});

describe('roundRows', () => {
  it('has one row per round: ε finite, ∞ without noise, - before any release', () => {
    const rows = roundRows([round(), done, noiseless]);
    expect(rows[0]).toEqual(['ID', 'STATUS', 'BASE', 'CONTRIBUTORS', 'EXAMPLES', 'ε', 'CANDIDATE', 'GATE']);
    expect(rows[1]).toEqual(['r_open', 'open', 'v2', '2/7', '120', '-', '-', '-']);
    expect(rows[2]).toEqual(['r_done', 'done', 'v2', '5/12', '480', '2.35', 'v3', 'blessed']);
    expect(rows[3]).toEqual(['r_nonoise', 'gating', 'v2', '2/7', '120', '∞', 'v4', 'rejected']);
  });
});

describe('printRounds', () => {
  it('prints an aligned table and the cumulative privacy line', () => {
    const out = lines((o) =>
      printRounds(o, {
        model: 'digits',
        rounds: [done, noiseless],
        privacy: { epsilon: null, delta: 1e-5, rounds: 2 },
      }),
    );
    expect(out).toEqual([
      'ID         STATUS  BASE  CONTRIBUTORS  EXAMPLES  ε     CANDIDATE  GATE',
      'r_done     done    v2    5/12          480       2.35  v3         blessed',
      'r_nonoise  gating  v2    2/7           120       ∞     v4         rejected',
      'privacy spent: ε = ∞ at δ = 1e-5 over 2 rounds (RDP; a round without noise has no finite ε)',
    ]);
  });

  it('says so when there is no round and nothing was spent', () => {
    const out = lines((o) =>
      printRounds(o, { model: 'digits', rounds: [], privacy: { epsilon: 0, delta: 0, rounds: 0 } }),
    );
    expect(out).toEqual(['no rounds for digits', 'privacy spent: none (no round released an aggregate)']);
  });

  it('prints a finite cumulative ε', () => {
    expect(privacyLine({ epsilon: 1.5, delta: 1e-5, rounds: 1 })).toBe(
      'privacy spent: ε = 1.5 at δ = 1e-5 over 1 round (RDP)',
    );
  });
});

describe('printRound', () => {
  it('prints settings, privacy, gate reasons and metrics, and the reason', () => {
    const out = lines((o) => printRound(o, done));
    expect(out).toEqual([
      'r_done  digits@production  base v2  done',
      '  opened     2026-11-29 10:00:00Z, deadline 2026-11-29 10:10:00Z, closed 2026-11-29 10:05:00Z',
      '  clients    5 contributed (min 3, max 100) of 12 eligible',
      '  examples   480 (each update counted up to 100; 1 updates clipped)',
      '  training   3 epochs at learning rate 0.003, at least 10 examples a device',
      '  aggregate  fedavg, clip norm 1, noise multiplier 0',
      '  evaluation holdout file only',
      '  privacy    ε = 2.35 at δ = 1e-5 (q 0.417, noise 1.1, order 8)',
      '  candidate  v3',
      '  gate       blessed at 2026-11-29 10:05:10Z',
      '    - accuracy 0.953 ≥ 0.9',
      '    - drop 0.002 ≤ 0.01',
      '    SET      EXAMPLES  BASELINE  CANDIDATE',
      '    holdout  2000      0.951     0.953',
      '  reason     canary v3 at 10%',
    ]);
  });

  it('says no privacy was spent yet and shows ∞ once a noiseless round released', () => {
    expect(lines((o) => printRound(o, round()))).toContain('  privacy    none spent yet (reported at δ = 1e-5)');
    expect(lines((o) => printRound(o, noiseless))).toContain('  privacy    ε = ∞ at δ = 1e-5 (q 1, noise 0, order 2)');
  });
});

describe('printPolicy', () => {
  const info = (policy: PolicyInfo['policy']): PolicyInfo => ({
    model: 'digits',
    alias: 'production',
    policy,
    watching: policy ? { version: 3, since: T, roundId: 'r_done' } : null,
    lastRoundAt: policy ? T : null,
    labelsAtLastRound: 40,
  });

  it('prints every part of a policy with its defaults', () => {
    const policy = v.parse(Policy, {
      v: 1,
      trigger: { everyLabels: 500, onDrift: true },
      round: { noiseMultiplier: 1.1 },
    });
    expect(lines((o) => printPolicy(o, info(policy)))).toEqual([
      'digits@production policy: enabled',
      '  trigger    every 500 labels, on drift',
      '  round      open 600 s; noiseMultiplier 1.1',
      '  gate       drop ≤ 0.01',
      '  canary     10%',
      '  promotion  50 labelled each side, alpha 0.05, margin 0.02',
      '  watching   v3 in canary since 2026-11-29 10:00:00Z (round r_done)',
      '  last round 2026-11-29 10:00:00Z (labels then: 40)',
    ]);
  });

  it('prints every gate threshold that is set', () => {
    const policy = v.parse(Policy, { v: 1, gate: { minAccuracy: 0.9, minGain: 0.005 } });
    expect(lines((o) => printPolicy(o, info(policy)))).toContain(
      '  gate       accuracy ≥ 0.9, drop ≤ 0.01, gain ≥ 0.005',
    );
    expect(lines((o) => printPolicy(o, info(policy)))[1]).toBe('  trigger    none (rounds open only by hand)');
  });

  it('says when an alias has no policy', () => {
    expect(lines((o) => printPolicy(o, info(null)))).toEqual(['digits@production: no policy']);
  });
});
