import { ROUND_DEFAULTS, type Round } from '../rounds.ts';

/**
 * A round as the edge answers it, for the tests of its views (CLI, dashboard): open, opened at
 * `openedAt`, with the default settings and a deadline `deadlineIn` ms after `openedAt`.
 *
 * @example
 * const done = sampleRound(T, 600_000, { status: 'done', candidateVersion: 3 });
 */
export function sampleRound(openedAt: number, deadlineIn: number, overrides: Partial<Round> = {}): Round {
  const { durationMs: _, ...settings } = ROUND_DEFAULTS;
  return {
    v: 1,
    id: 'r_open',
    model: 'digits',
    alias: 'production',
    baseVersion: 2,
    status: 'open',
    settings: { ...settings, deadline: openedAt + deadlineIn },
    openedAt,
    closedAt: null,
    eligible: 7,
    contributors: 2,
    examples: 120,
    clipped: 0,
    privacy: null,
    candidateVersion: null,
    gate: null,
    reason: null,
    ...overrides,
  };
}
