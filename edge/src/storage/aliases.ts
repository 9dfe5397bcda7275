import type { AliasEvent, AliasInfo } from '../../../protocol/registry.ts';
import type { Rollout } from '../../../protocol/rollout.ts';

interface HistoryRow {
  kind: AliasEvent['kind'];
  at: number;
  from_version: number | null;
  to_version: number;
  reason: string | null;
  key_id: string;
  rollout: string | null;
}

/** An alias row: its stable version and its rollout columns. */
export interface AliasRow {
  version: number;
  canary_version: number | null;
  canary_percent: number | null;
  shadow_version: number | null;
}

const historySql = `SELECT kind, at, from_version, to_version, reason, key_id, rollout FROM alias_events
  WHERE model = ? AND alias = ? ORDER BY id DESC`;
const aliasSql = `SELECT version, canary_version, canary_percent, shadow_version FROM aliases
  WHERE model = ? AND alias = ?`;

/**
 * The statements that read an alias back; a write appends them to its batch to answer.
 *
 * @example
 * await db.batch([write, ...readAliasStatements(db, 'digits', 'production')]);
 */
export function readAliasStatements(db: D1Database, model: string, alias: string): D1PreparedStatement[] {
  return [db.prepare(aliasSql).bind(model, alias), db.prepare(historySql).bind(model, alias)];
}

/**
 * The rollout held in an alias row's columns.
 *
 * @example
 * rolloutOf({ version: 1, canary_version: 2, canary_percent: 10, shadow_version: null })
 * // { canary: { version: 2, percent: 10 } }
 */
export function rolloutOf(row: AliasRow): Rollout {
  const rollout: Rollout = {};
  if (row.canary_version !== null) rollout.canary = { version: row.canary_version, percent: row.canary_percent ?? 0 };
  if (row.shadow_version !== null) rollout.shadow = { version: row.shadow_version };
  return rollout;
}

function toEvent(row: HistoryRow): AliasEvent {
  const event: AliasEvent = {
    kind: row.kind,
    at: row.at,
    from: row.from_version,
    to: row.to_version,
    reason: row.reason,
    keyId: row.key_id,
  };
  // Written by setRollout from a validated Rollout; stored rows are trusted.
  if (row.rollout !== null) event.rollout = JSON.parse(row.rollout) as Rollout;
  return event;
}

/**
 * Builds an alias's answer from the results of {@link readAliasStatements}; null when the
 * alias does not exist.
 *
 * @example
 * const [current, history] = await db.batch(readAliasStatements(db, 'digits', 'production'));
 * const info = aliasInfo('digits', 'production', current, history);
 */
export function aliasInfo(
  model: string,
  alias: string,
  current: D1Result | undefined,
  history: D1Result | undefined,
): AliasInfo | null {
  const row = current?.results[0] as AliasRow | undefined;
  if (!row) return null;
  const events = (history?.results ?? []) as HistoryRow[];
  return { model, alias, version: row.version, rollout: rolloutOf(row), history: events.map(toEvent) };
}

/**
 * Moves `alias` to `version` and appends the move to its history, in one D1 batch (a
 * transaction), so the recorded `from` is exactly the version the alias left. Writes nothing
 * and returns null unless the version exists and is not archived (checked inside the batch,
 * so a concurrent archive cannot slip between check and write).
 *
 * @example
 * await setAlias(env.DB, { model: 'digits', alias: 'production', version: 2, reason: 'better', keyId, now });
 */
export async function setAlias(
  db: D1Database,
  input: { model: string; alias: string; version: number; reason: string | null; keyId: string; now: number },
): Promise<AliasInfo | null> {
  const { model, alias, version, reason, keyId, now } = input;
  const ready = `EXISTS (SELECT 1 FROM versions WHERE model = ?1 AND version = ?3 AND status = 'ready')`;
  const [moved, , current, history] = await db.batch([
    db
      .prepare(
        `INSERT INTO alias_events (model, alias, kind, from_version, to_version, reason, key_id, at)
         SELECT ?1, ?2, 'move', (SELECT version FROM aliases WHERE model = ?1 AND alias = ?2), ?3, ?4, ?5, ?6
         WHERE ${ready}`,
      )
      .bind(model, alias, version, reason, keyId, now),
    db
      .prepare(
        `INSERT INTO aliases (model, alias, version, updated_at, updated_by) SELECT ?1, ?2, ?3, ?6, ?5
         WHERE ${ready}
         ON CONFLICT (model, alias) DO UPDATE SET
           version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      )
      .bind(model, alias, version, reason, keyId, now),
    ...readAliasStatements(db, model, alias),
  ]);
  if (!moved?.meta.changes) return null;
  return aliasInfo(model, alias, current, history);
}

/** An alias with its rollout and history (newest first), or null when it does not exist. */
export async function getAlias(db: D1Database, model: string, alias: string): Promise<AliasInfo | null> {
  const [current, history] = await db.batch(readAliasStatements(db, model, alias));
  return aliasInfo(model, alias, current, history);
}

/**
 * The alias row (stable version and rollout), or null.
 *
 * @example
 * const row = await aliasRow(env.DB, 'digits', 'production'); // { version: 2, canary_version: 3, … }
 */
export async function aliasRow(db: D1Database, model: string, alias: string): Promise<AliasRow | null> {
  return db.prepare(aliasSql).bind(model, alias).first<AliasRow>();
}

/** Whether some alias or rollout of `model` points at `version` (what a client key may download). */
export async function isAliased(db: D1Database, model: string, version: number): Promise<boolean> {
  const row = await db
    .prepare(
      `SELECT 1 FROM aliases WHERE model = ?1 AND (version = ?2 OR canary_version = ?2 OR shadow_version = ?2)
       LIMIT 1`,
    )
    .bind(model, version)
    .first();
  return row !== null;
}
