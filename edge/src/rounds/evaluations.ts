import { ErrorCode } from '../../../protocol/errors.ts';
import type { CurrentRound, Evaluation, EvaluationReceipt } from '../../../protocol/rounds.ts';
import { type Refusal, refuse } from './refusal.ts';
import type { RoundRow, RoundWeights } from './rows.ts';

// Fleet held-out evaluation (protocol/rounds.ts `evaluationSeconds`): while a round is gating,
// each contributor runs base and candidate on the labels it held out of its local training and
// reports the counts; only counts leave the device.

const contributed = (sql: SqlStorage, roundId: string, clientId: string): boolean =>
  sql.exec('SELECT 1 FROM updates WHERE round_id = ? AND client_id = ?', roundId, clientId).toArray().length > 0;

/** The gating round `clientId` contributed to and has not evaluated yet, or null. */
export function evaluationFor(sql: SqlStorage, clientId: string): NonNullable<CurrentRound['evaluate']> | null {
  const row = sql
    .exec<RoundRow>(
      `SELECT r.* FROM rounds r JOIN updates u ON u.round_id = r.id AND u.client_id = ?1 AND u.held_out > 0
       WHERE r.status = 'gating' AND r.evaluate_until > ?2 AND r.candidate_sha IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.round_id = r.id AND e.client_id = ?1)
       ORDER BY r.opened_at DESC LIMIT 1`,
      clientId,
      Date.now(),
    )
    .toArray()[0];
  if (!row) return null;
  const weights = JSON.parse(row.weights) as RoundWeights;
  return {
    id: row.id,
    baseVersion: row.base_version,
    candidate: { sha256: row.candidate_sha as string, values: weights.values },
    until: row.evaluate_until as number,
  };
}

/** Why `clientId` may not evaluate round `roundId` now, or null when it may. */
function evaluationRefusal(sql: SqlStorage, model: string, roundId: string, clientId: string): Refusal | null {
  const row = sql.exec<RoundRow>('SELECT * FROM rounds WHERE id = ?', roundId).toArray()[0];
  if (!row) return refuse(404, ErrorCode.ROUND_NOT_FOUND, `${model} has no round ${roundId}`);
  if (!contributed(sql, roundId, clientId)) {
    return refuse(
      403,
      ErrorCode.FORBIDDEN,
      `client ${clientId} sent no update to ${roundId}; only contributors evaluate it`,
    );
  }
  if (row.status !== 'gating' || row.evaluate_until === null || row.evaluate_until <= Date.now()) {
    return refuse(409, ErrorCode.ROUND_CLOSED, `round ${roundId} is ${row.status}; it takes no evaluations now`);
  }
  return null;
}

/** The candidate's weights blob a contributor may download to evaluate it. */
export function candidateFor(
  sql: SqlStorage,
  model: string,
  roundId: string,
  clientId: string,
): { sha256: string } | Refusal {
  const refusal = evaluationRefusal(sql, model, roundId, clientId);
  if (refusal) return refusal;
  const row = sql.exec<{ candidate_sha: string }>('SELECT candidate_sha FROM rounds WHERE id = ?', roundId).one();
  return { sha256: row.candidate_sha };
}

/**
 * Records a contributor's counts once (the same counts again are a duplicate); `complete` when
 * every contributor that held labels out has reported, so the round can be decided now.
 */
export function recordEvaluation(
  sql: SqlStorage,
  model: string,
  roundId: string,
  clientId: string,
  evaluation: Evaluation,
): (EvaluationReceipt & { complete: boolean }) | Refusal {
  const receipt = (duplicate: boolean, complete: boolean) => ({
    v: 1 as const,
    roundId,
    clientId,
    duplicate,
    complete,
  });
  const before = sql
    .exec<{ examples: number; base_correct: number; candidate_correct: number }>(
      'SELECT examples, base_correct, candidate_correct FROM evaluations WHERE round_id = ? AND client_id = ?',
      roundId,
      clientId,
    )
    .toArray()[0];
  if (before) {
    const same =
      before.examples === evaluation.examples &&
      before.base_correct === evaluation.baseCorrect &&
      before.candidate_correct === evaluation.candidateCorrect;
    return same
      ? receipt(true, false)
      : refuse(409, ErrorCode.DUPLICATE_UPDATE, `client ${clientId} already evaluated ${roundId} differently`);
  }
  const refusal = evaluationRefusal(sql, model, roundId, clientId);
  if (refusal) return refusal;
  sql.exec(
    'INSERT INTO evaluations (round_id, client_id, examples, base_correct, candidate_correct, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    roundId,
    clientId,
    evaluation.examples,
    evaluation.baseCorrect,
    evaluation.candidateCorrect,
    Date.now(),
  );
  const counts = sql
    .exec<{ done: number; total: number }>(
      `SELECT (SELECT COUNT(*) FROM evaluations WHERE round_id = ?1) AS done,
         (SELECT COUNT(*) FROM updates WHERE round_id = ?1 AND held_out > 0) AS total`,
      roundId,
    )
    .one();
  return receipt(false, counts.done >= counts.total);
}
