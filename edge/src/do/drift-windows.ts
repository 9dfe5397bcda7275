import { EdgeloopError } from '../../../protocol/errors.ts';
import { mergeProfiles, type Profile, WINDOW_MS } from '../../../protocol/profile/index.ts';
import { type EstablishedWindow, LOOKBACK_WINDOWS } from '../drift/judge.ts';
import { type Standing, weaker } from '../drift/standing.ts';

// The DriftAggregator's windows in its SQLite storage (drift-schema.ts): per contributor and
// window a partial profile with its standing, the judged window merged from the established
// partials, the cap counts and the profile ids received.

/** A validated profile for one hour window, as the Worker passes it on. */
export interface IngestItem {
  id: string;
  window: number;
  profile: Profile;
}

export type IngestOutcome =
  | { status: 'accepted' | 'duplicate' | 'capped' }
  /** The profile cannot be merged with the window's (e.g. another sketch size): nothing stored. */
  | { status: 'rejected'; code: string; message: string };

/** What erasing a client took out of one version's windows: its profiles received and their rows. */
export interface Erased {
  profiles: number;
  rows: number;
}

export const parseProfile = (json: string): Profile => JSON.parse(json) as Profile;

function storeWindow(sql: SqlStorage, window: number, profile: Profile, now: number): void {
  sql.exec(
    `INSERT INTO windows (window, profile, updated_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (window) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`,
    window,
    JSON.stringify(profile),
    now,
  );
}

/** Re-merges a window's judged profile from its established partials (none: the window has no judged rows). */
function rebuildWindow(sql: SqlStorage, window: number, now: number): void {
  const parts = sql
    .exec<{ profile: string }>(
      "SELECT profile FROM partials WHERE window = ? AND standing = 'established' ORDER BY client_id",
      window,
    )
    .toArray()
    .map((row) => parseProfile(row.profile));
  const [first, ...rest] = parts;
  if (!first) {
    sql.exec('DELETE FROM windows WHERE window = ?', window);
    return;
  }
  storeWindow(
    sql,
    window,
    rest.reduce((merged, p) => mergeProfiles(merged, p), first),
    now,
  );
}

/**
 * Takes one profile of `clientId` (run inside the caller's transaction): a profile id already
 * received is a duplicate; one past the cap of the contributor's rows in its window is
 * recorded as capped; otherwise it joins the contributor's partial (whose standing only ever
 * gets weaker) and, when established, the judged window. Windows whose judged rows changed are
 * added to `touched`.
 *
 * @example
 * const outcome = ingestProfile(ctx.storage.sql, 'c_1', 'established', item, 2000, Date.now(), touched);
 */
export function ingestProfile(
  sql: SqlStorage,
  clientId: string,
  standing: Standing,
  item: IngestItem,
  cap: number,
  now: number,
  touched: Set<number>,
): IngestOutcome {
  const seen = sql.exec('SELECT 1 FROM received WHERE client_id = ? AND profile_id = ?', clientId, item.id);
  if (seen.toArray().length > 0) return { status: 'duplicate' };
  const rows = item.profile.count;
  const used =
    sql
      .exec<{ rows: number }>(
        'SELECT rows FROM contributions WHERE window = ? AND client_id = ?',
        item.window,
        clientId,
      )
      .toArray()[0]?.rows ?? 0;
  const received = (status: 'accepted' | 'capped') =>
    sql.exec(
      'INSERT INTO received (client_id, profile_id, window, rows, status, received_at) VALUES (?, ?, ?, ?, ?, ?)',
      clientId,
      item.id,
      item.window,
      rows,
      status,
      now,
    );
  if (used + rows > cap) {
    received('capped');
    return { status: 'capped' };
  }
  const part = sql
    .exec<{ standing: Standing; profile: string }>(
      'SELECT standing, profile FROM partials WHERE window = ? AND client_id = ?',
      item.window,
      clientId,
    )
    .toArray()[0];
  const kept = part ? weaker(part.standing, standing) : standing;
  let partial: Profile;
  let judged: Profile | null = null;
  try {
    partial = part ? mergeProfiles(parseProfile(part.profile), item.profile) : item.profile;
    if (kept === 'established') {
      const stored = sql
        .exec<{ profile: string }>('SELECT profile FROM windows WHERE window = ?', item.window)
        .toArray()[0];
      judged = stored ? mergeProfiles(parseProfile(stored.profile), item.profile) : item.profile;
    }
  } catch (error) {
    if (!(error instanceof EdgeloopError)) throw error;
    return { status: 'rejected', code: error.code, message: error.message };
  }
  sql.exec(
    `INSERT INTO partials (window, client_id, standing, rows, profile) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (window, client_id) DO UPDATE SET
       standing = excluded.standing, rows = excluded.rows, profile = excluded.profile`,
    item.window,
    clientId,
    kept,
    partial.count,
    JSON.stringify(partial),
  );
  if (judged) {
    storeWindow(sql, item.window, judged, now);
    touched.add(item.window);
  } else if (part?.standing === 'established') {
    // No longer established (revoked mid-window): the window is judged without it.
    rebuildWindow(sql, item.window, now);
    touched.add(item.window);
  }
  sql.exec(
    `INSERT INTO contributions (window, client_id, rows) VALUES (?1, ?2, ?3)
     ON CONFLICT (window, client_id) DO UPDATE SET rows = rows + excluded.rows`,
    item.window,
    clientId,
    rows,
  );
  received('accepted');
  return { status: 'accepted' };
}

/**
 * Removes the rows of `names` (a client as a device and as edge inference) from every table
 * and rebuilds the judged windows they were part of (run inside the caller's transaction);
 * returns what went and the windows rebuilt.
 *
 * @example
 * const { erased, rebuilt } = eraseContributors(ctx.storage.sql, ['c_42', 'edge:c_42'], Date.now());
 */
export function eraseContributors(
  sql: SqlStorage,
  names: readonly [string, string],
  now: number,
): { erased: Erased; rebuilt: number[] } {
  const profiles = sql
    .exec<{ n: number }>('SELECT COUNT(*) AS n FROM received WHERE client_id IN (?, ?)', ...names)
    .one().n;
  const parts = sql
    .exec<{ window: number; standing: Standing; rows: number }>(
      'SELECT window, standing, rows FROM partials WHERE client_id IN (?, ?)',
      ...names,
    )
    .toArray();
  for (const table of ['received', 'contributions', 'partials']) {
    sql.exec(`DELETE FROM ${table} WHERE client_id IN (?, ?)`, ...names);
  }
  const rebuilt = [...new Set(parts.filter((p) => p.standing === 'established').map((p) => p.window))];
  for (const window of rebuilt) rebuildWindow(sql, window, now);
  return { erased: { profiles, rows: parts.reduce((sum, p) => sum + p.rows, 0) }, rebuilt };
}

/**
 * The judged windows of [from, to), with the earlier ones a thin range may be judged with.
 *
 * @example
 * judgeRange(establishedWindows(ctx.storage.sql, from, to), from, to);
 */
export function establishedWindows(sql: SqlStorage, from: number, to: number): EstablishedWindow[] {
  return sql
    .exec<{ window: number; profile: string }>(
      'SELECT window, profile FROM windows WHERE window >= ? AND window < ? ORDER BY window',
      from - LOOKBACK_WINDOWS * WINDOW_MS,
      to,
    )
    .toArray()
    .map((row) => ({ window: row.window, profile: parseProfile(row.profile) }));
}
