import type { AliasInfo } from '../../../protocol/registry.ts';

interface HistoryRow {
  at: number;
  from_version: number | null;
  to_version: number;
  reason: string | null;
  key_id: string;
}

const historySql = `SELECT at, from_version, to_version, reason, key_id FROM alias_events
  WHERE model = ? AND alias = ? ORDER BY id DESC`;

function toInfo(model: string, alias: string, version: number, rows: readonly HistoryRow[]): AliasInfo {
  return {
    model,
    alias,
    version,
    history: rows.map((row) => ({
      at: row.at,
      from: row.from_version,
      to: row.to_version,
      reason: row.reason,
      keyId: row.key_id,
    })),
  };
}

/**
 * Moves `alias` to `version` and appends the move to its history, in one D1 batch (a
 * transaction), so the recorded `from` is exactly the version the alias left.
 *
 * @example
 * await setAlias(env.DB, { model: 'digits', alias: 'production', version: 2, reason: 'better', keyId, now });
 */
export async function setAlias(
  db: D1Database,
  input: { model: string; alias: string; version: number; reason: string | null; keyId: string; now: number },
): Promise<AliasInfo> {
  const { model, alias, version, reason, keyId, now } = input;
  const [, , history] = await db.batch([
    db
      .prepare(
        `INSERT INTO alias_events (model, alias, from_version, to_version, reason, key_id, at)
         VALUES (?1, ?2, (SELECT version FROM aliases WHERE model = ?1 AND alias = ?2), ?3, ?4, ?5, ?6)`,
      )
      .bind(model, alias, version, reason, keyId, now),
    db
      .prepare(
        `INSERT INTO aliases (model, alias, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (model, alias) DO UPDATE SET
           version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      )
      .bind(model, alias, version, now, keyId),
    db.prepare(historySql).bind(model, alias),
  ]);
  return toInfo(model, alias, version, (history?.results ?? []) as HistoryRow[]);
}

/** An alias with its history (newest first), or null when it does not exist. */
export async function getAlias(db: D1Database, model: string, alias: string): Promise<AliasInfo | null> {
  const [current, history] = await db.batch([
    db.prepare('SELECT version FROM aliases WHERE model = ? AND alias = ?').bind(model, alias),
    db.prepare(historySql).bind(model, alias),
  ]);
  const row = current?.results[0] as { version: number } | undefined;
  if (!row) return null;
  return toInfo(model, alias, row.version, (history?.results ?? []) as HistoryRow[]);
}

/** The version an alias points to, or null. */
export async function aliasVersion(db: D1Database, model: string, alias: string): Promise<number | null> {
  return db.prepare('SELECT version FROM aliases WHERE model = ? AND alias = ?').bind(model, alias).first('version');
}

/** Whether some alias of `model` points at `version` (what a client key may download). */
export async function isAliased(db: D1Database, model: string, version: number): Promise<boolean> {
  const row = await db
    .prepare('SELECT 1 FROM aliases WHERE model = ? AND version = ? LIMIT 1')
    .bind(model, version)
    .first();
  return row !== null;
}
