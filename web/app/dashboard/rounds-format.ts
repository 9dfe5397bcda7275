import type { AliasEvent, AliasInfo } from '../../../protocol/registry.ts';
import type { Rollout } from '../../../protocol/rollout.ts';
import type { CumulativePrivacy, Round } from '../../../protocol/rounds.ts';

// Pure text for the rounds, privacy and rollout-timeline views (no DOM: unit-tested in Node).

/**
 * ε to three significant digits; `∞` when null (a release without noise has no finite ε).
 *
 * @example
 * epsilonText(null) // '∞'
 * epsilonText(1.23456) // '1.23'
 */
export function epsilonText(epsilon: number | null): string {
  return epsilon === null ? '∞' : String(Number(epsilon.toPrecision(3)));
}

/** @example deltaText(0.00001) // '1e-5' */
export const deltaText = (delta: number): string => delta.toExponential();

/**
 * Time left to a deadline, coarse enough to read at a glance.
 *
 * @example
 * timeLeft(now + 125_000, now) // '2 min 5 s left'
 * timeLeft(now - 1, now) // 'deadline passed'
 */
export function timeLeft(deadline: number, now: number): string {
  const s = Math.ceil((deadline - now) / 1000);
  if (s <= 0) return 'deadline passed';
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s left`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min left`;
  return `${Math.floor(h / 24)} d ${h % 24} h left`;
}

/**
 * Contributors against the round's bounds: `2 of 3/100 (7 eligible)`.
 *
 * @example
 * progressText(round) // '2 of 3/100 (7 eligible)'
 */
export function progressText(r: Round): string {
  return `${r.contributors} of ${r.settings.minClients}/${r.settings.maxClients} (${r.eligible} eligible)`;
}

/** A round's (ε, δ), `–` before it released an aggregate. */
export function roundPrivacyText(r: Round): string {
  return r.privacy ? `ε ${epsilonText(r.privacy.epsilon)}, δ ${deltaText(r.privacy.delta)}` : '–';
}

/**
 * The gate's decision with every reason, `–` before it ran.
 *
 * @example
 * gateText(round) // 'blessed: accuracy 0.95 ≥ 0.9; drop 0.002 ≤ 0.01'
 */
export function gateText(r: Round): string {
  if (!r.gate) return '–';
  const verdict = r.gate.blessed ? 'blessed' : 'rejected';
  return r.gate.reasons.length > 0 ? `${verdict}: ${r.gate.reasons.join('; ')}` : verdict;
}

/**
 * The cells of one round's row; `now` gives the time left while it is open.
 *
 * @example
 * roundCells(round, Date.now()) // ['r_1', 'open', 'v2', '1 of 3/100 (4 eligible)', '4 min 0 s left', '12', '–', '–', '–', '–']
 */
export function roundCells(r: Round, now: number): string[] {
  return [
    r.id,
    r.status,
    `v${r.baseVersion}`,
    progressText(r),
    r.status === 'open' ? timeLeft(r.settings.deadline, now) : '–',
    String(r.examples),
    roundPrivacyText(r),
    r.candidateVersion === null ? '–' : `v${r.candidateVersion}`,
    gateText(r),
    r.reason ?? '–',
  ];
}

/**
 * A model's privacy over every round that released an aggregate.
 *
 * @example
 * privacyText({ epsilon: null, delta: 1e-5, rounds: 2 }) // 'Privacy spent over 2 rounds: ε = ∞ (a round had no noise), δ = 1e-5.'
 */
export function privacyText(p: CumulativePrivacy): string {
  if (p.rounds === 0) return 'Privacy spent: none yet (no round has released an aggregate).';
  const rounds = `${p.rounds} round${p.rounds === 1 ? '' : 's'}`;
  const eps = p.epsilon === null ? '∞ (a round had no noise)' : epsilonText(p.epsilon);
  return `Privacy spent over ${rounds}: ε = ${eps}, δ = ${deltaText(p.delta)}.`;
}

function rolloutText(rollout: Rollout | undefined): string {
  const parts = [
    rollout?.canary ? `canary v${rollout.canary.version} at ${rollout.canary.percent}%` : '',
    rollout?.shadow ? `shadow v${rollout.shadow.version}` : '',
  ].filter(Boolean);
  return parts.join(', ') || 'rollout cleared';
}

/** One entry of a rollout timeline. */
export interface TimelineEntry {
  at: number;
  kind: AliasEvent['kind'];
  /** What changed: `v1 → v2`, or the rollout it set. */
  change: string;
  reason: string;
  keyId: string;
}

/**
 * An alias's history as a timeline, newest first: moves, rollouts and rollbacks with the
 * versions involved and the reason (a policy writes its numbers there).
 *
 * @example
 * timeline(info)[0] // { at: …, kind: 'rollout', change: 'v2 with canary v3 at 10%', reason: 'policy: …', keyId: 'policy' }
 */
export function timeline(info: AliasInfo): TimelineEntry[] {
  return [...info.history]
    .sort((a, b) => b.at - a.at)
    .map((e) => ({
      at: e.at,
      kind: e.kind,
      change:
        e.kind === 'rollout'
          ? `v${e.to} with ${rolloutText(e.rollout)}`
          : `${e.from === null ? 'new' : `v${e.from}`} → v${e.to}`,
      reason: e.reason ?? 'no reason given',
      keyId: e.keyId,
    }));
}
