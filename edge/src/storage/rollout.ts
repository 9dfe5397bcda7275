import type { AliasInfo, VersionStatus } from '../../../protocol/registry.ts';
import type { Rollout } from '../../../protocol/rollout.ts';
import { aliasInfo, readAliasStatements } from './aliases.ts';

/**
 * The status of a version, or null when it does not exist.
 *
 * @example
 * await versionStatus(env.DB, 'digits', 1); // 'ready'
 */
export async function versionStatus(db: D1Database, model: string, version: number): Promise<VersionStatus | null> {
  return db
    .prepare('SELECT status FROM versions WHERE model = ? AND version = ?')
    .bind(model, version)
    .first<VersionStatus>('status');
}

/**
 * Sets (or, with `{}`, clears) the rollout of an existing alias and appends a `rollout`
 * history entry, in one D1 batch. Writes nothing and returns null when the alias is gone or a
 * version named became archived meanwhile (the guard runs inside the transaction).
 *
 * @example
 * await setRollout(env.DB, { model: 'digits', alias: 'production', rollout: { canary: { version: 3, percent: 10 } },
 *   reason: null, keyId, now: Date.now() });
 */
export async function setRollout(
  db: D1Database,
  input: { model: string; alias: string; rollout: Rollout; reason: string | null; keyId: string; now: number },
): Promise<AliasInfo | null> {
  const { model, alias, rollout, reason, keyId, now } = input;
  const canary = rollout.canary?.version ?? null;
  const shadow = rollout.shadow?.version ?? null;
  // Versions are never deleted and were checked to exist, so only archiving can invalidate them.
  const guard = `model = ?1 AND alias = ?2 AND NOT EXISTS (SELECT 1 FROM versions
    WHERE model = ?1 AND version IN (?3, ?5) AND status = 'archived')`;
  const [written, , current, history] = await db.batch([
    db
      .prepare(
        `INSERT INTO alias_events (model, alias, kind, from_version, to_version, reason, key_id, at, rollout)
         SELECT ?1, ?2, 'rollout', version, version, ?6, ?7, ?8, ?9 FROM aliases WHERE ${guard}`,
      )
      .bind(model, alias, canary, rollout.canary?.percent ?? null, shadow, reason, keyId, now, JSON.stringify(rollout)),
    db
      .prepare(
        `UPDATE aliases SET canary_version = ?3, canary_percent = ?4, shadow_version = ?5,
           updated_at = ?8, updated_by = ?7 WHERE ${guard}`,
      )
      .bind(model, alias, canary, rollout.canary?.percent ?? null, shadow, reason, keyId, now),
    ...readAliasStatements(db, model, alias),
  ]);
  if (!written?.meta.changes) return null;
  return aliasInfo(model, alias, current, history);
}

/**
 * The version an alias held before its last move (a `move` or a `rollback`), or null when it
 * has none: the alias was only ever set once, or never.
 *
 * @example
 * await previousVersion(env.DB, 'digits', 'production'); // 1 after moves 1 → 2
 */
export async function previousVersion(db: D1Database, model: string, alias: string): Promise<number | null> {
  const row = await db
    .prepare(
      `SELECT from_version FROM alias_events WHERE model = ? AND alias = ? AND kind IN ('move', 'rollback')
       ORDER BY id DESC LIMIT 1`,
    )
    .bind(model, alias)
    .first<{ from_version: number | null }>();
  return row?.from_version ?? null;
}

/**
 * Moves an alias from `from` back to `to`, clears its rollout and appends a `rollback` entry,
 * in one D1 batch. Writes nothing and returns null when the alias no longer holds `from` or
 * `to` is archived (both checked inside the transaction).
 *
 * @example
 * await rollbackAlias(env.DB, { model: 'digits', alias: 'production', from: 2, to: 1, keyId, now: Date.now() });
 */
export async function rollbackAlias(
  db: D1Database,
  input: { model: string; alias: string; from: number; to: number; keyId: string; now: number },
): Promise<AliasInfo | null> {
  const { model, alias, from, to, keyId, now } = input;
  const guard = `model = ?1 AND alias = ?2 AND version = ?3
    AND EXISTS (SELECT 1 FROM versions WHERE model = ?1 AND version = ?4 AND status = 'ready')`;
  const [written, , current, history] = await db.batch([
    db
      .prepare(
        `INSERT INTO alias_events (model, alias, kind, from_version, to_version, reason, key_id, at)
         SELECT ?1, ?2, 'rollback', ?3, ?4, NULL, ?5, ?6 FROM aliases WHERE ${guard}`,
      )
      .bind(model, alias, from, to, keyId, now),
    db
      .prepare(
        `UPDATE aliases SET version = ?4, canary_version = NULL, canary_percent = NULL, shadow_version = NULL,
           updated_at = ?6, updated_by = ?5 WHERE ${guard}`,
      )
      .bind(model, alias, from, to, keyId, now),
    ...readAliasStatements(db, model, alias),
  ]);
  if (!written?.meta.changes) return null;
  return aliasInfo(model, alias, current, history);
}

/**
 * The aliases of `model` whose version or rollout points at `version`.
 *
 * @example
 * await aliasesUsing(env.DB, 'digits', 2); // ['production']
 */
export async function aliasesUsing(db: D1Database, model: string, version: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT alias FROM aliases WHERE model = ?1 AND (version = ?2 OR canary_version = ?2 OR shadow_version = ?2)
       ORDER BY alias`,
    )
    .bind(model, version)
    .all<{ alias: string }>();
  return results.map((row) => row.alias);
}

/**
 * Marks a ready version archived unless an alias or rollout points at it, in one guarded
 * statement (so no alias can start pointing at it in between). Returns whether it changed.
 *
 * @example
 * if (!(await archiveVersion(env.DB, 'digits', 1))) { … in use, missing or already archived … }
 */
export async function archiveVersion(db: D1Database, model: string, version: number): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE versions SET status = 'archived' WHERE model = ?1 AND version = ?2 AND status = 'ready'
       AND NOT EXISTS (SELECT 1 FROM aliases WHERE model = ?1
         AND (version = ?2 OR canary_version = ?2 OR shadow_version = ?2))`,
    )
    .bind(model, version)
    .run();
  return result.meta.changes > 0;
}
