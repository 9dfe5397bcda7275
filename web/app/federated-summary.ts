import type { FederatedStatus } from '../../protocol/participate.ts';

const STATES = { pending: 'update waiting to be sent', sent: 'update sent', rejected: 'update refused' } as const;
const EVALUATIONS = { pending: 'waiting to be sent', sent: 'sent', rejected: 'refused' } as const;

/**
 * The status bar's line on federated rounds: whether this device takes part on its own, what
 * became of the last round's update and, once the edge asked, of its held-out evaluation of
 * the round's candidate.
 *
 * @example
 * describeFederated({ enabled: true, lastRound: null }); // 'taking part on its own · no round yet'
 */
export function describeFederated(federated: FederatedStatus): string {
  const mode = federated.enabled ? 'taking part on its own' : 'off (only when asked)';
  const last = federated.lastRound;
  if (!last) return `${mode} · no round yet`;
  const refusal = last.rejection ? ` (${last.rejection.code})` : '';
  const clipped = last.clipped ? ', clipped' : '';
  const heldOut = last.heldOut ? `, ${last.heldOut} held out` : '';
  const update = `${STATES[last.state]}${refusal}, ${last.examples} labels${heldOut}, norm ${last.norm.toFixed(3)}${clipped}`;
  const e = last.evaluation;
  const evaluation = e
    ? ` · held-out evaluation ${EVALUATIONS[e.state]}${e.rejection ? ` (${e.rejection.code})` : ''}: base ${e.baseCorrect}/${e.examples}, candidate ${e.candidateCorrect}/${e.examples}`
    : '';
  return `${mode} · round ${last.id}: ${update}${evaluation}`;
}
