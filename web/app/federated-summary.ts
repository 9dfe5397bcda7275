import type { FederatedStatus } from '../../protocol/worker-api.ts';

const STATES = { pending: 'update waiting to be sent', sent: 'update sent', rejected: 'update refused' } as const;

/**
 * The status bar's line on federated rounds: whether this device takes part on its own, and
 * what became of the last round's update.
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
  return `${mode} · round ${last.id}: ${STATES[last.state]}${refusal}, ${last.examples} labels, norm ${last.norm.toFixed(3)}${clipped}`;
}
