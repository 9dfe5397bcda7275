import { describe, expect, it } from 'vitest';
import type { AliasInfo } from '../../../protocol/registry.ts';
import type { Round } from '../../../protocol/rounds.ts';
import { sampleRound } from '../../../protocol/test/rounds.ts';
import {
  epsilonText,
  gateText,
  privacyText,
  progressText,
  roundCells,
  roundPrivacyText,
  timeLeft,
  timeline,
} from './rounds-format.ts';

const T = Date.UTC(2026, 10, 29, 10, 0, 0);

const round = (overrides: Partial<Round> = {}): Round =>
  sampleRound(T - 360_000, 600_000, { id: 'r_1', eligible: 4, contributors: 1, examples: 12, ...overrides });

describe('timeLeft', () => {
  it.each([
    [T + 999, '1 s left'],
    [T + 59_000, '59 s left'],
    [T + 125_000, '2 min 5 s left'],
    [T + 3 * 3_600_000 + 60_000, '3 h 1 min left'],
    [T + 50 * 3_600_000, '2 d 2 h left'],
    [T, 'deadline passed'],
    [T - 5_000, 'deadline passed'],
  ])('deadline %d → %s', (deadline, text) => {
    expect(timeLeft(deadline, T)).toBe(text);
  });
});

describe('round text', () => {
  it('shows progress against min/max, and time left only while open', () => {
    expect(progressText(round())).toBe('1 of 3/100 (4 eligible)');
    expect(roundCells(round(), T)).toEqual([
      'r_1',
      'open',
      'v2',
      '1 of 3/100 (4 eligible)',
      '4 min 0 s left',
      '12',
      '–',
      '–',
      '–',
      '–',
    ]);
    expect(roundCells(round({ status: 'cancelled', reason: 'cancelled by key k_1' }), T)[4]).toBe('–');
  });

  it('shows ε as ∞ when null and δ in exponent form', () => {
    expect(epsilonText(null)).toBe('∞');
    expect(epsilonText(1.23456)).toBe('1.23');
    const noiseless = round({ privacy: { epsilon: null, delta: 1e-5, q: 1, noiseMultiplier: 0, order: 2 } });
    expect(roundPrivacyText(noiseless)).toBe('ε ∞, δ 1e-5');
    const noisy = round({ privacy: { epsilon: 3.14259, delta: 2.5e-6, q: 0.3, noiseMultiplier: 1.2, order: 9 } });
    expect(roundPrivacyText(noisy)).toBe('ε 3.14, δ 2.5e-6');
  });

  it('gives the gate decision with every reason', () => {
    expect(gateText(round())).toBe('–');
    const gate = { blessed: false, reasons: ['accuracy 0.82 < 0.9', 'drop 0.03 > 0.01'], metrics: [], at: T };
    expect(gateText(round({ gate }))).toBe('rejected: accuracy 0.82 < 0.9; drop 0.03 > 0.01');
    expect(gateText(round({ gate: { ...gate, blessed: true, reasons: [] } }))).toBe('blessed');
  });

  it('states the cumulative privacy, ∞ when a round had no noise', () => {
    expect(privacyText({ epsilon: null, delta: 1e-5, rounds: 2 })).toBe(
      'Privacy spent over 2 rounds: ε = ∞ (a round had no noise), δ = 1e-5.',
    );
    expect(privacyText({ epsilon: 0.84321, delta: 1e-5, rounds: 1 })).toBe(
      'Privacy spent over 1 round: ε = 0.843, δ = 1e-5.',
    );
    expect(privacyText({ epsilon: 0, delta: 0, rounds: 0 })).toBe(
      'Privacy spent: none yet (no round has released an aggregate).',
    );
  });
});

describe('timeline', () => {
  it('lists moves, rollouts and rollbacks newest first with versions and reasons', () => {
    const info: AliasInfo = {
      model: 'digits',
      alias: 'production',
      version: 3,
      rollout: {},
      history: [
        { kind: 'move', at: T, from: null, to: 1, reason: null, keyId: 'k_admin' },
        {
          kind: 'rollout',
          at: T + 2000,
          from: 1,
          to: 1,
          reason: 'policy: round r_1 blessed (accuracy 0.95 ≥ 0.9); canary 10%',
          keyId: 'policy',
          rollout: { canary: { version: 3, percent: 10 } },
        },
        {
          kind: 'move',
          at: T + 3000,
          from: 1,
          to: 3,
          reason: 'policy: promoted (canary 0.95 vs stable 0.94, n 60/60)',
          keyId: 'policy',
        },
        { kind: 'rollback', at: T + 4000, from: 3, to: 1, reason: 'manual', keyId: 'k_admin' },
        { kind: 'rollout', at: T + 1000, from: 1, to: 1, reason: null, keyId: 'k_admin', rollout: {} },
      ],
    };
    expect(timeline(info)).toEqual([
      { at: T + 4000, kind: 'rollback', change: 'v3 → v1', reason: 'manual', keyId: 'k_admin' },
      {
        at: T + 3000,
        kind: 'move',
        change: 'v1 → v3',
        reason: 'policy: promoted (canary 0.95 vs stable 0.94, n 60/60)',
        keyId: 'policy',
      },
      {
        at: T + 2000,
        kind: 'rollout',
        change: 'v1 with canary v3 at 10%',
        reason: 'policy: round r_1 blessed (accuracy 0.95 ≥ 0.9); canary 10%',
        keyId: 'policy',
      },
      { at: T + 1000, kind: 'rollout', change: 'v1 with rollout cleared', reason: 'no reason given', keyId: 'k_admin' },
      { at: T, kind: 'move', change: 'new → v1', reason: 'no reason given', keyId: 'k_admin' },
    ]);
  });
});
