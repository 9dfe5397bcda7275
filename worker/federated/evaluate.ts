import { EdgeloopError } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/hash.ts';
import type { ParticipateResult } from '../../protocol/participate.ts';
import type { StoredEvaluation, UpdateRow } from '../db.ts';
import { HttpFailure } from '../edge-client.ts';
import { buildModel } from '../infer/model-artifacts.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { accuracy } from '../train/evaluate.ts';
import type { Examples } from '../train/examples.ts';
import { baseInfo, roundBase, type Step } from './base.ts';
import { weightLayout } from './delta.ts';
import { heldOutExamples } from './held-out.ts';
import { type EvaluationOffer, fetchCandidate, postEvaluation } from './round.ts';
import { refusal } from './send.ts';
import { findUpdate, pendingEvaluation, settleEvaluation, storeEvaluation } from './updates.ts';

/**
 * The fleet held-out evaluation, which a participation does before it trains (README.md): an
 * evaluation whose reply was lost is sent again with the same counts; otherwise, when the edge
 * asks for one (`evaluate` of the current round) of a round this device sent an update to and
 * held labels out of, it downloads the candidate (verified: DIGEST_MISMATCH, nothing sent),
 * counts what the base's registry weights and the candidate get right on those labels, stores
 * the counts and sends them. Null when there is nothing to evaluate.
 *
 * @example
 * const evaluated = await evaluateIfAsked(runtime, loaded, current.evaluate, step);
 * if (evaluated) return evaluated;
 */
export async function evaluateIfAsked(
  runtime: Runtime,
  loaded: LoadedModel,
  offer: EvaluationOffer | null,
  step: Step,
): Promise<ParticipateResult | null> {
  const waiting = await pendingEvaluation(runtime.db, loaded.name);
  if (waiting) return send(runtime, waiting.row, waiting.evaluation);
  if (!offer) return null;
  const row = await findUpdate(runtime.db, loaded.name, offer.id);
  if (row?.state !== 'sent' || row.evaluation || !row.heldOut?.length) return null;
  const examples = await heldOutExamples(runtime.db, loaded, row.heldOut);
  if (examples.count === 0) return null;
  const counts = await countCorrect(runtime, loaded, row, offer, examples, step);
  const evaluation = await storeEvaluation(runtime.db, row.id, {
    examples: examples.count,
    ...counts,
    state: 'pending',
    createdAt: Date.now(),
  });
  return send(runtime, row, evaluation);
}

/** The base's registry weights and the candidate (the base's model.json with its weights), run on `examples`. */
async function countCorrect(
  runtime: Runtime,
  loaded: LoadedModel,
  row: UpdateRow,
  offer: EvaluationOffer,
  examples: Examples,
  step: Step,
): Promise<{ baseCorrect: number; candidateCorrect: number }> {
  if (offer.baseVersion !== row.baseVersion) {
    throw new EdgeloopError(
      'EDGE_ERROR',
      `round ${offer.id} asks to evaluate on v${offer.baseVersion}; its update was trained on v${row.baseVersion}`,
    );
  }
  const info = await baseInfo(runtime, loaded, row.baseVersion);
  const weights = await fetchCandidate(runtime, loaded.name, offer.id);
  const sha256 = await sha256Hex(weights);
  if (weights.byteLength !== offer.candidate.values * 4 || sha256 !== offer.candidate.sha256) {
    throw new EdgeloopError(
      'DIGEST_MISMATCH',
      `round ${offer.id}'s candidate: ${weights.byteLength} bytes with sha256 ${sha256}, expected ${offer.candidate.values * 4} with ${offer.candidate.sha256}; nothing was sent`,
    );
  }
  const base = await roundBase(runtime, loaded, info, step);
  try {
    const { values } = weightLayout(base.modelJson);
    if (values !== offer.candidate.values) {
      throw new EdgeloopError(
        'EDGE_ERROR',
        `round ${offer.id}'s candidate has ${offer.candidate.values} values, v${info.version}'s model.json ${values}`,
      );
    }
    const { inputShape, signature } = base.model;
    const correct = async (model: LoadedModel['model']) =>
      Math.round((await accuracy({ model, inputShape, signature }, examples)) * examples.count);
    const baseCorrect = await step(() => correct(base.model.registry));
    const candidateCorrect = await step(async () => {
      const candidate = await buildModel(base.modelJson, [weights]);
      try {
        return await correct(candidate);
      } finally {
        candidate.dispose();
      }
    });
    return { baseCorrect, candidateCorrect };
  } finally {
    base.release();
  }
}

/**
 * Sends the stored counts. Acknowledged (a `duplicate` too) or refused for good (ROUND_CLOSED,
 * FORBIDDEN, DUPLICATE_UPDATE, any other final 4xx): settled, never sent again. Otherwise (no
 * connection, 429, 5xx, a bad token) it stays pending for the next participation.
 */
async function send(runtime: Runtime, row: UpdateRow, evaluation: StoredEvaluation): Promise<ParticipateResult> {
  const { examples, baseCorrect, candidateCorrect } = evaluation;
  let after = evaluation;
  let error: EdgeloopError | null = null;
  try {
    const receipt = await postEvaluation(runtime, row.model, row.roundId, {
      v: 1,
      examples,
      baseCorrect,
      candidateCorrect,
    });
    after = await settleEvaluation(runtime.db, row.id, evaluation, { duplicate: receipt.duplicate });
  } catch (e) {
    const rejection = evaluationRefusal(e);
    if (rejection) after = await settleEvaluation(runtime.db, row.id, evaluation, { rejection });
    else error = EdgeloopError.from(e);
  }
  return {
    v: 1,
    status: 'evaluated',
    model: row.model,
    roundId: row.roundId,
    examples,
    baseCorrect,
    candidateCorrect,
    state: after.state,
    ...(after.duplicate !== undefined ? { duplicate: after.duplicate } : {}),
    ...(after.rejection ? { rejection: after.rejection } : {}),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  };
}

/** As for updates, and a 403 other than CLIENT_REVOKED is the edge's FORBIDDEN: not a contributor. */
function evaluationRefusal(error: unknown): { code: string; message: string } | null {
  const e = EdgeloopError.from(error);
  const status = e.cause instanceof HttpFailure ? e.cause.status : null;
  if (status === 403 && e.code !== 'CLIENT_REVOKED') return { code: 'FORBIDDEN', message: e.message };
  return refusal(error);
}
