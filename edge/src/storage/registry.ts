import type { Manifest } from '../../../protocol/manifest.ts';
import type { ModelList, StoredFile, VersionInfo, VersionList, VersionStatus } from '../../../protocol/registry.ts';
import { attentionByModel } from './drift.ts';

/** A file of a version as recorded in D1. */
export interface FileRecord extends StoredFile {
  contentType: string;
}

interface VersionRow {
  version: number;
  status: VersionStatus;
  created_at: number;
  manifest: string;
}

interface FileRow {
  path: string;
  sha256: string;
  size: number;
  content_type: string;
}

const toFile = (row: FileRow): FileRecord => ({
  path: row.path,
  sha256: row.sha256,
  size: row.size,
  contentType: row.content_type,
});

/** Whether a model has been published at least once. */
export async function modelExists(db: D1Database, model: string): Promise<boolean> {
  return (await db.prepare('SELECT 1 FROM models WHERE name = ?').bind(model).first()) !== null;
}

/** Whether `model` has a version numbered `version`. */
export async function versionExists(db: D1Database, model: string, version: number): Promise<boolean> {
  const row = await db.prepare('SELECT 1 FROM versions WHERE model = ? AND version = ?').bind(model, version).first();
  return row !== null;
}

/**
 * Records a new immutable version in one D1 batch (a transaction) of three statements whatever
 * its number of files: the model if new, the version numbered max+1, and its files (one
 * INSERT expanding them from one JSON parameter with `json_each`). Returns the version number.
 *
 * @example
 * const version = await insertVersion(env.DB, { model: 'digits', manifest, files, keyId, now: Date.now() });
 */
export async function insertVersion(
  db: D1Database,
  input: { model: string; manifest: Manifest; files: readonly FileRecord[]; keyId: string; now: number },
): Promise<number> {
  const { model, manifest, files, keyId, now } = input;
  const [, inserted] = await db.batch<{ version: number }>([
    db.prepare('INSERT OR IGNORE INTO models (name, created_at) VALUES (?, ?)').bind(model, now),
    db
      .prepare(
        `INSERT INTO versions (model, version, manifest, status, created_at, created_by)
         SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2, 'ready', ?3, ?4 FROM versions WHERE model = ?1
         RETURNING version`,
      )
      .bind(model, JSON.stringify(manifest), now, keyId),
    db
      .prepare(
        `INSERT INTO files (model, version, path, sha256, size, content_type)
         SELECT ?1, (SELECT MAX(version) FROM versions WHERE model = ?1), f.value ->> '$.path',
                f.value ->> '$.sha256', f.value ->> '$.size', f.value ->> '$.contentType'
         FROM json_each(?2) AS f`,
      )
      .bind(
        model,
        JSON.stringify(files.map(({ path, sha256, size, contentType }) => ({ path, sha256, size, contentType }))),
      ),
  ]);
  const version = inserted?.results[0]?.version;
  if (version === undefined) throw new Error(`inserting a version of ${model} returned no version number`);
  return version;
}

/** Every model with its latest version number, its aliases and those needing attention (drift). */
export async function listModels(db: D1Database): Promise<ModelList> {
  const [models, aliases] = await db.batch([
    db.prepare(
      `SELECT m.name AS name, COALESCE(MAX(v.version), 0) AS latest
       FROM models m LEFT JOIN versions v ON v.model = m.name GROUP BY m.name ORDER BY m.name`,
    ),
    db.prepare('SELECT model, alias, version FROM aliases ORDER BY model, alias'),
  ]);
  const attention = await attentionByModel(db);
  const list: ModelList['models'] = ((models?.results ?? []) as { name: string; latest: number }[]).map((row) => ({
    name: row.name,
    latestVersion: row.latest,
    aliases: {},
    attention: attention.get(row.name) ?? {},
  }));
  const byName = new Map(list.map((model) => [model.name, model]));
  for (const row of (aliases?.results ?? []) as { model: string; alias: string; version: number }[]) {
    const model = byName.get(row.model);
    if (model) model.aliases[row.alias] = row.version;
  }
  return { models: list };
}

/** The versions of a model, oldest first. */
export async function listVersions(db: D1Database, model: string): Promise<VersionList['versions']> {
  const { results } = await db
    .prepare('SELECT version, status, created_at FROM versions WHERE model = ? ORDER BY version')
    .bind(model)
    .all<Omit<VersionRow, 'manifest'>>();
  return results.map((row) => ({ version: row.version, status: row.status, createdAt: row.created_at }));
}

/** A version with its manifest and files, or null when it does not exist. */
export async function getVersion(db: D1Database, model: string, version: number): Promise<VersionInfo | null> {
  const [versions, files] = await db.batch([
    db
      .prepare('SELECT version, status, created_at, manifest FROM versions WHERE model = ? AND version = ?')
      .bind(model, version),
    db
      .prepare('SELECT path, sha256, size, content_type FROM files WHERE model = ? AND version = ? ORDER BY path')
      .bind(model, version),
  ]);
  const row = versions?.results[0] as VersionRow | undefined;
  if (!row) return null;
  return {
    model,
    version: row.version,
    status: row.status,
    createdAt: row.created_at,
    // Validated against Manifest when it was published; stored rows are trusted.
    manifest: JSON.parse(row.manifest) as Manifest,
    files: ((files?.results ?? []) as FileRow[]).map(({ path, sha256, size }) => ({ path, sha256, size })),
  };
}

/** One file of a version, or null. */
export async function getFile(
  db: D1Database,
  model: string,
  version: number,
  path: string,
): Promise<FileRecord | null> {
  const row = await db
    .prepare('SELECT path, sha256, size, content_type FROM files WHERE model = ? AND version = ? AND path = ?')
    .bind(model, version, path)
    .first<FileRow>();
  return row ? toFile(row) : null;
}
