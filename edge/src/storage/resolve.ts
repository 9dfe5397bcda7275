import type { Resolution } from '../../../protocol/registry.ts';
import { canaryBucket } from '../../../protocol/rollout.ts';
import { aliasRow } from './aliases.ts';

/**
 * What `alias` serves `clientId`: its stable version, or the canary for clients whose hash
 * falls in the canary's share (sticky per client); and the rollout's shadow version, if any.
 * Null when the alias does not exist. Without a client id, the stable version.
 *
 * @example
 * const answer = await resolveAlias(env.DB, 'digits', 'production', 'c_3f9a0b12'); // { version: 3, role: 'canary', shadow: 4, … }
 */
export async function resolveAlias(
  db: D1Database,
  model: string,
  alias: string,
  clientId: string | undefined,
): Promise<Resolution | null> {
  const row = await aliasRow(db, model, alias);
  if (!row) return null;
  const answer: Resolution = { model, alias, version: row.version, role: 'stable' };
  // Archived versions never reach here: archiving is refused while a rollout names them.
  const percent = row.canary_percent ?? 0;
  if (clientId && row.canary_version !== null && (await canaryBucket(model, alias, clientId)) < percent) {
    answer.version = row.canary_version;
    answer.role = 'canary';
  }
  if (row.shadow_version !== null) answer.shadow = row.shadow_version;
  return answer;
}
