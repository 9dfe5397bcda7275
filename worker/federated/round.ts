import { EdgeloopError } from '../../protocol/errors.ts';
import {
  CurrentRound,
  type Evaluation,
  EvaluationReceipt,
  EXAMPLES_HEADER,
  HELD_OUT_HEADER,
  UpdateReceipt,
} from '../../protocol/rounds.ts';
import { pathSegments } from '../edge-client.ts';
import type { SyncRuntime } from '../runtime.ts';

/** An open round as a device sees it (`GET …/rounds/current`). */
export type RoundOffer = NonNullable<CurrentRound['round']>;

/** A gating round this device contributed to that waits for its held-out evaluation. */
export type EvaluationOffer = NonNullable<CurrentRound['evaluate']>;

/**
 * The model's open round (null when none is open) and the round waiting for this device's
 * evaluation (null when none). Asked with the client token, so the edge counts this device
 * among the round's eligible ones; the caller registered first.
 *
 * @example
 * const { round, evaluate } = await currentRound(runtime, 'digits');
 */
export async function currentRound(
  runtime: Pick<SyncRuntime, 'edge'>,
  model: string,
): Promise<{ round: RoundOffer | null; evaluate: EvaluationOffer | null }> {
  const path = `/v1/models/${pathSegments(model, 'rounds', 'current')}`;
  const { round, evaluate } = await runtime.edge.asClient(path, CurrentRound);
  if (round && round.model !== model)
    throw new EdgeloopError('EDGE_ERROR', `${path} answered a round of ${round.model}`);
  return { round, evaluate: evaluate ?? null };
}

/**
 * `POST …/rounds/{id}/updates`: the stored bytes (float32 LE, gzipped by the EdgeClient when
 * large) with the examples they were trained on. The same bytes again answer `duplicate: true`.
 *
 * @example
 * const receipt = await postUpdate(runtime, { model: 'digits', roundId, examples: 50 }, bytes);
 */
export async function postUpdate(
  runtime: Pick<SyncRuntime, 'edge'>,
  update: { model: string; roundId: string; examples: number; heldOut?: readonly string[] },
  bytes: ArrayBuffer,
): Promise<UpdateReceipt> {
  const path = `/v1/models/${pathSegments(update.model, 'rounds', update.roundId, 'updates')}`;
  const receipt = await runtime.edge.asClient(path, UpdateReceipt, {
    bytes: new Uint8Array(bytes),
    headers: { [EXAMPLES_HEADER]: String(update.examples), [HELD_OUT_HEADER]: String(update.heldOut?.length ?? 0) },
  });
  if (receipt.roundId !== update.roundId) {
    throw new EdgeloopError('EDGE_ERROR', `${path} answered for round ${receipt.roundId}`);
  }
  return receipt;
}

/**
 * `GET …/rounds/{id}/candidate` with the client token: the candidate's weights, float32 LE in the
 * base's weights order (the caller verifies them).
 *
 * @example
 * const bytes = await fetchCandidate(runtime, 'digits', evaluate.id);
 */
export function fetchCandidate(
  runtime: Pick<SyncRuntime, 'edge'>,
  model: string,
  roundId: string,
): Promise<ArrayBuffer> {
  return runtime.edge.bytes(`/v1/models/${pathSegments(model, 'rounds', roundId, 'candidate')}`, { asClient: true });
}

/**
 * `POST …/rounds/{id}/evaluations`: the held-out counts. The same body again answers `duplicate: true`.
 *
 * @example
 * await postEvaluation(runtime, 'digits', roundId, { v: 1, examples: 10, baseCorrect: 6, candidateCorrect: 8 });
 */
export async function postEvaluation(
  runtime: Pick<SyncRuntime, 'edge'>,
  model: string,
  roundId: string,
  evaluation: Evaluation,
): Promise<EvaluationReceipt> {
  const path = `/v1/models/${pathSegments(model, 'rounds', roundId, 'evaluations')}`;
  const receipt = await runtime.edge.json(path, EvaluationReceipt, evaluation);
  if (receipt.roundId !== roundId)
    throw new EdgeloopError('EDGE_ERROR', `${path} answered for round ${receipt.roundId}`);
  return receipt;
}
