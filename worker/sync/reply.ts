import { EdgeloopError } from '../../protocol/errors.ts';

interface Refusal {
  index: number;
  code: string;
  message: string;
}

/**
 * The refusal of each item sent, by position (null: acknowledged), once the edge's batch reply
 * has been checked to account for every item exactly once. A reply that does not add up cannot
 * tell which items arrived, so it throws EDGE_ERROR and the caller keeps them all for a retry.
 *
 * @example
 * const refusals = settledItems('/v1/events', 'events', reply.rejected, reply.accepted + reply.duplicates, rows.length);
 */
export function settledItems(
  path: string,
  noun: string,
  rejected: readonly Refusal[],
  acknowledged: number,
  size: number,
): ({ code: string; message: string } | null)[] {
  const byIndex = new Map(rejected.map((r) => [r.index, r]));
  const sane =
    rejected.every((r) => Number.isInteger(r.index) && r.index >= 0 && r.index < size) &&
    byIndex.size === rejected.length &&
    acknowledged + byIndex.size === size;
  if (!sane) throw new EdgeloopError('EDGE_ERROR', `${path}: reply does not account for the ${size} ${noun} sent`);
  return Array.from({ length: size }, (_, i) => {
    const refusal = byIndex.get(i);
    return refusal ? { code: refusal.code, message: refusal.message } : null;
  });
}
