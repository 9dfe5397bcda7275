import type {
  CumulativePrivacy,
  FullRoundSettings,
  GateDecision,
  PrivacySpent,
  Round,
  RoundStatus,
} from '../../../protocol/rounds.ts';
import { privacySpent } from './privacy.ts';

/** A round as its SQLite row holds it. */
export interface RoundRow {
  id: string;
  alias: string;
  base_version: number;
  status: RoundStatus;
  settings: string;
  weights: string;
  opened_at: number;
  opened_by: string;
  closed_at: number | null;
  contributors: number;
  examples: number;
  clipped: number;
  privacy: string | null;
  candidate_version: number | null;
  gate: string | null;
  reason: string | null;
  candidate_sha: string | null;
  evaluate_until: number | null;
  holdout: string | null;
  [key: string]: SqlStorageValue;
}

/** The weights file an update is ordered by. */
export interface RoundWeights {
  path: string;
  sha256: string;
  values: number;
}

/** A round's stored settings; rounds stored before fleet evaluation have none (0). */
export function settingsOf(row: Pick<RoundRow, 'settings'>): FullRoundSettings {
  const stored = JSON.parse(row.settings) as Omit<FullRoundSettings, 'evaluationSeconds'> & {
    evaluationSeconds?: number;
  };
  return { ...stored, evaluationSeconds: stored.evaluationSeconds ?? 0 };
}

/** The row as the API shows it; `eligible` is counted from `askers` by the caller. */
export function roundOf(model: string, row: RoundRow, eligible: number): Round {
  return {
    v: 1,
    id: row.id,
    model,
    alias: row.alias,
    baseVersion: row.base_version,
    status: row.status,
    settings: settingsOf(row),
    openedAt: row.opened_at,
    closedAt: row.closed_at,
    eligible: Math.max(eligible, row.contributors),
    contributors: row.contributors,
    examples: row.examples,
    clipped: row.clipped,
    privacy: row.privacy === null ? null : (JSON.parse(row.privacy) as PrivacySpent),
    candidateVersion: row.candidate_version,
    gate: row.gate === null ? null : (JSON.parse(row.gate) as GateDecision),
    reason: row.reason,
  };
}

/** Every release of a model composed (RDP adds up over rounds), at the largest δ any round asked. */
export function cumulativeOf(spent: readonly PrivacySpent[]): CumulativePrivacy {
  if (spent.length === 0) return { epsilon: 0, delta: 0, rounds: 0 };
  const delta = Math.max(...spent.map((p) => p.delta));
  if (spent.some((p) => p.epsilon === null)) return { epsilon: null, delta, rounds: spent.length };
  const { epsilon } = privacySpent(spent, delta);
  return { epsilon, delta, rounds: spent.length };
}
