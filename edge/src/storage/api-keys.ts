import type { KeyInfo, Scope } from '../../../protocol/keys.ts';
import { parseScopes } from '../auth/scopes.ts';

interface KeyRow {
  id: string;
  name: string;
  scopes: string;
  created_at: number;
  revoked_at: number | null;
}

/** A key to store: only its SHA-256 `hash`, never the key itself. */
export interface NewKey {
  id: string;
  name: string;
  hash: string;
  scopes: readonly Scope[];
  createdAt: number;
}

function toInfo(row: KeyRow): KeyInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: parseScopes(row.scopes),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** The key whose SHA-256 is `hash`, revoked or not. */
export async function findKeyByHash(db: D1Database, hash: string): Promise<KeyInfo | null> {
  const row = await db.prepare('SELECT * FROM api_keys WHERE hash = ?').bind(hash).first<KeyRow>();
  return row ? toInfo(row) : null;
}

/** Stores a new key. */
export async function insertKey(db: D1Database, key: NewKey): Promise<void> {
  await db
    .prepare('INSERT INTO api_keys (id, name, hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)')
    .bind(key.id, key.name, key.hash, key.scopes.join(','), key.createdAt)
    .run();
}

/**
 * Records an environment (bootstrap) key under its stable id. A rotated secret replaces the
 * stored hash, but a revoked bootstrap key stays revoked.
 */
export async function upsertBootstrapKey(db: D1Database, key: NewKey): Promise<void> {
  await db
    .prepare(
      `INSERT INTO api_keys (id, name, hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET hash = excluded.hash WHERE api_keys.revoked_at IS NULL`,
    )
    .bind(key.id, key.name, key.hash, key.scopes.join(','), key.createdAt)
    .run();
}

/** All keys, oldest first, without their hashes. */
export async function listKeys(db: D1Database): Promise<KeyInfo[]> {
  const { results } = await db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all<KeyRow>();
  return results.map(toInfo);
}

/** Revokes a key (idempotent: the first revocation time is kept); null when no such key. */
export async function revokeKey(db: D1Database, id: string, now: number): Promise<KeyInfo | null> {
  const row = await db
    .prepare('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *')
    .bind(now, id)
    .first<KeyRow>();
  return row ? toInfo(row) : null;
}
