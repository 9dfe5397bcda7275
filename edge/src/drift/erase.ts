import { driftStub } from './stub.ts';

/** What erasing a client removed from drift: the versions that held its rows, its profiles and their rows. */
export interface DriftErasure {
  versions: { model: string; version: number }[];
  profiles: number;
  rows: number;
}

/**
 * Removes a client's drift contributions from every version that holds some (found through
 * D1 `drift_contributors`): its profiles as a device and its edge inference (`edge:<id>`). Each
 * version's DriftAggregator rebuilds the windows from the other contributors' partials and
 * judges them again, so a window's report afterwards is the one it would have had without the
 * client (its sketches up to sketch error when several clients remain: DriftAggregator.erase).
 * `profiles` counts the profiles received from the client (merged or capped), `rows` the rows
 * taken out of windows. Revoke the client first: its profiles are refused from then on and its
 * edge inference counts as `edge:api`, so nothing new lands under its id. Erasing again finds
 * nothing and returns zeros.
 *
 * @example
 * const { versions, profiles, rows } = await eraseClientDrift(env, 'c_Jx3…');
 */
export async function eraseClientDrift(env: Env, clientId: string): Promise<DriftErasure> {
  const { results } = await env.DB.prepare(
    'SELECT model, version FROM drift_contributors WHERE client_id = ? ORDER BY model, version',
  )
    .bind(clientId)
    .all<{ model: string; version: number }>();
  const versions = results.map(({ model, version }) => ({ model, version }));
  const erased = await Promise.all(
    versions.map((target) => driftStub(env, target.model, target.version).erase(target, clientId)),
  );
  // Only once every aggregator is done, so an interrupted erasure finds them all again.
  await env.DB.prepare('DELETE FROM drift_contributors WHERE client_id = ?').bind(clientId).run();
  return {
    versions,
    profiles: erased.reduce((sum, e) => sum + e.profiles, 0),
    rows: erased.reduce((sum, e) => sum + e.rows, 0),
  };
}
