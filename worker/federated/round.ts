import { EdgeloopError } from '../../protocol/errors.ts';
import { CurrentRound, EXAMPLES_HEADER, UpdateReceipt } from '../../protocol/rounds.ts';
import { pathSegments } from '../edge-client.ts';
import type { SyncRuntime } from '../runtime.ts';

/** An open round as a device sees it (`GET …/rounds/current`). */
export type RoundOffer = NonNullable<CurrentRound['round']>;

/**
 * The model's open round, or null when none is open. Asked with the client token, so the edge
 * counts this device among the round's eligible ones; the caller registered first.
 *
 * @example
 * const round = await currentRound(runtime, 'digits'); // { id, baseVersion, clipNorm, weights, … } | null
 */
export async function currentRound(runtime: Pick<SyncRuntime, 'edge'>, model: string): Promise<RoundOffer | null> {
  const path = `/v1/models/${pathSegments(model, 'rounds', 'current')}`;
  const { round } = await runtime.edge.asClient(path, CurrentRound);
  if (round && round.model !== model)
    throw new EdgeloopError('EDGE_ERROR', `${path} answered a round of ${round.model}`);
  return round;
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
  update: { model: string; roundId: string; examples: number },
  bytes: ArrayBuffer,
): Promise<UpdateReceipt> {
  const path = `/v1/models/${pathSegments(update.model, 'rounds', update.roundId, 'updates')}`;
  const receipt = await runtime.edge.asClient(path, UpdateReceipt, {
    bytes: new Uint8Array(bytes),
    headers: { [EXAMPLES_HEADER]: String(update.examples) },
  });
  if (receipt.roundId !== update.roundId) {
    throw new EdgeloopError('EDGE_ERROR', `${path} answered for round ${receipt.roundId}`);
  }
  return receipt;
}
