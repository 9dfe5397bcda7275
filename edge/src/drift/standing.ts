/**
 * Whose drift rows are judged. Identities are free to mint (POST /v1/clients needs only the
 * public client key), so a client's rows count towards a window's verdict only once it has been
 * known for the probation period; rows it sends before then are kept but held back. Edge
 * inference that no client token proves counts as one shared contributor that is never judged.
 */

/** The contributor of edge inference not proven by an Edgeloop-Client-Token: one for all such callers. */
export const SHARED_CONTRIBUTOR = 'edge:api';

/** How long a client's drift rows are held back after it is first seen, unless EDGELOOP_DRIFT_PROBATION_HOURS says otherwise. */
export const DEFAULT_PROBATION_HOURS = 24;

/** `established`: judged; `probation`: a client first seen too recently; `unverified`: not a client in good standing. */
export type Standing = 'established' | 'probation' | 'unverified';

const RANK: Record<Standing, number> = { unverified: 0, probation: 1, established: 2 };

/**
 * The less trusted of two standings: a contribution is judged only if all of it was sent by an
 * established client.
 *
 * @example
 * weaker('established', 'probation'); // 'probation'
 */
export function weaker(a: Standing, b: Standing): Standing {
  return RANK[a] <= RANK[b] ? a : b;
}

/**
 * The probation period in hours (EDGELOOP_DRIFT_PROBATION_HOURS; 0 trusts every registered client).
 *
 * @example
 * probationHours(env); // 24
 */
export function probationHours(env: Env): number {
  const raw: string = env.EDGELOOP_DRIFT_PROBATION_HOURS ?? '';
  const hours = Number(raw);
  return raw.trim() !== '' && Number.isFinite(hours) && hours >= 0 ? hours : DEFAULT_PROBATION_HOURS;
}

/**
 * The client a contributor stands for: device profiles are sent as the client id, edge
 * inference as `edge:<clientId>`; null for the shared contributor.
 *
 * @example
 * contributorClient('edge:c_42'); // 'c_42'
 */
export function contributorClient(contributor: string): string | null {
  if (contributor === SHARED_CONTRIBUTOR) return null;
  return contributor.startsWith('edge:') ? contributor.slice('edge:'.length) : contributor;
}

/**
 * Decides how the rows `contributor` sends to model@version now are counted, and records in
 * D1 that this version holds rows of its client (for erasure), in one batch. A client that is
 * unknown or revoked is unverified; its edge inference joins the shared contributor.
 *
 * @example
 * const { contributor, standing } = await contributorStanding(env, { model: 'digits', version: 3 }, 'c_42', Date.now());
 */
export async function contributorStanding(
  env: Env,
  target: { model: string; version: number },
  contributor: string,
  now: number,
): Promise<{ contributor: string; standing: Standing }> {
  const clientId = contributorClient(contributor);
  if (clientId === null) return { contributor, standing: 'unverified' };
  const db = env.DB;
  const [, lookup] = await db.batch([
    db
      .prepare(
        `INSERT OR IGNORE INTO drift_contributors (client_id, model, version, first_at)
         SELECT client_id, ?2, ?3, ?4 FROM clients
         WHERE client_id = ?1 AND registered_at IS NOT NULL AND revoked_at IS NULL`,
      )
      .bind(clientId, target.model, target.version, now),
    db.prepare('SELECT first_seen, registered_at, revoked_at FROM clients WHERE client_id = ?').bind(clientId),
  ]);
  const row = lookup?.results[0] as
    | { first_seen: number; registered_at: number | null; revoked_at: number | null }
    | undefined;
  if (!row || row.registered_at === null || row.revoked_at !== null) {
    // Device profiles of such a client are refused before they get here (a race at most).
    return { contributor: contributor === clientId ? contributor : SHARED_CONTRIBUTOR, standing: 'unverified' };
  }
  const established = row.first_seen <= now - probationHours(env) * 3_600_000;
  return { contributor, standing: established ? 'established' : 'probation' };
}
