import type { EndStatus, Params, Run, RunList, RunStatus, RunSummary, Tags } from '../../../protocol/runs.ts';
import { latestMetrics } from './run-metrics.ts';

interface RunRow {
  seq: number;
  id: string;
  model: string;
  name: string | null;
  status: RunStatus;
  params: string;
  tags: string;
  parent_version: number | null;
  created_by: string;
  client_id: string | null;
  created_at: number;
  ended_at: number | null;
}

const columns =
  'seq, id, model, name, status, params, tags, parent_version, created_by, client_id, created_at, ended_at';

const toSummary = (row: RunRow): RunSummary => ({
  id: row.id,
  model: row.model,
  name: row.name,
  status: row.status,
  params: JSON.parse(row.params) as Params,
  tags: JSON.parse(row.tags) as Tags,
  parentVersion: row.parent_version,
  createdBy: row.created_by,
  clientId: row.client_id,
  createdAt: row.created_at,
  endedAt: row.ended_at,
});

/** A fresh public run id (128 random bits). */
export const newRunId = (): string => `run_${crypto.randomUUID().replaceAll('-', '')}`;

/**
 * Records a new run in status `running`, owned by `clientId` when a device created it.
 *
 * @example
 * const run = await insertRun(env.DB, { id: newRunId(), model: 'digits', name: null, params: { lr: 0.01 }, tags: {}, parentVersion: null, keyId, clientId: null, now: Date.now() });
 */
export async function insertRun(
  db: D1Database,
  input: {
    id: string;
    model: string;
    name: string | null;
    params: Params;
    tags: Tags;
    parentVersion: number | null;
    keyId: string;
    clientId: string | null;
    now: number;
  },
): Promise<RunSummary> {
  const { id, model, name, params, tags, parentVersion, keyId, clientId, now } = input;
  const row = await db
    .prepare(
      `INSERT INTO runs (id, model, name, status, params, tags, parent_version, created_by, client_id, created_at)
       VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?) RETURNING ${columns}`,
    )
    .bind(id, model, name, JSON.stringify(params), JSON.stringify(tags), parentVersion, keyId, clientId, now)
    .first<RunRow>();
  if (!row) throw new Error('INSERT … RETURNING gave no row');
  return toSummary(row);
}

/** A run without its metrics and versions, or null when there is none with this id. */
export async function findRun(db: D1Database, id: string): Promise<RunSummary | null> {
  const row = await db.prepare(`SELECT ${columns} FROM runs WHERE id = ?`).bind(id).first<RunRow>();
  return row ? toSummary(row) : null;
}

/**
 * A run with the latest value of each metric and its linked versions, read in one batch
 * so the three parts agree; null when there is no such run.
 *
 * @example
 * const run = await getRun(env.DB, 'run_0f3c…');
 * run?.metrics.accuracy // { value: 0.97, step: 10, ts: 1764331200000 }
 */
export async function getRun(db: D1Database, id: string): Promise<Run | null> {
  const [runs, metrics, versions] = await db.batch([
    db.prepare(`SELECT ${columns} FROM runs WHERE id = ?`).bind(id),
    latestMetrics(db, [id]),
    db.prepare('SELECT version FROM run_versions WHERE run_id = ? ORDER BY version').bind(id),
  ]);
  const row = runs?.results[0] as RunRow | undefined;
  if (!row) return null;
  const latest: Run['metrics'] = {};
  for (const m of (metrics?.results ?? []) as { key: string; value: number; step: number; ts: number }[]) {
    latest[m.key] = { value: m.value, step: m.step, ts: m.ts };
  }
  const linked = ((versions?.results ?? []) as { version: number }[]).map((r) => r.version);
  return { ...toSummary(row), metrics: latest, versions: linked };
}

/**
 * Runs newest first, optionally of one model and/or status. The cursor is the `seq` of the
 * last run of the previous page, so pages never repeat or skip a run while new ones arrive.
 *
 * @example
 * const page = await listRuns(env.DB, { model: 'digits', status: null, limit: 50, cursor: null });
 */
export async function listRuns(
  db: D1Database,
  query: { model: string | null; status: RunStatus | null; limit: number; cursor: number | null },
): Promise<RunList> {
  const { model, status, limit, cursor } = query;
  const { results } = await db
    .prepare(
      `SELECT ${columns} FROM runs
       WHERE (?1 IS NULL OR model = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR seq < ?3)
       ORDER BY seq DESC LIMIT ?4`,
    )
    .bind(model, status, cursor, limit + 1)
    .all<RunRow>();
  const page = results.slice(0, limit);
  const last = page.at(-1);
  return { runs: page.map(toSummary), nextCursor: results.length > limit && last ? String(last.seq) : null };
}

/** Runs with these ids (any order); ids with no run are left out. */
export async function findRuns(db: D1Database, ids: readonly string[]): Promise<RunSummary[]> {
  const { results } = await db
    .prepare(`SELECT ${columns} FROM runs WHERE id IN (SELECT value FROM json_each(?))`)
    .bind(JSON.stringify(ids))
    .all<RunRow>();
  return results.map(toSummary);
}

/** The versions of `model` among `versions` that exist. */
export async function existingVersions(db: D1Database, model: string, versions: readonly number[]): Promise<number[]> {
  const { results } = await db
    .prepare('SELECT version FROM versions WHERE model = ? AND version IN (SELECT value FROM json_each(?))')
    .bind(model, JSON.stringify(versions))
    .all<{ version: number }>();
  return results.map((r) => r.version);
}

/**
 * Ends a run, merges tags and links versions, in one D1 batch (a transaction). The status
 * changes only while the run is running, so a concurrent end cannot be overwritten.
 *
 * @example
 * await updateRun(env.DB, { id, status: 'finished', tags: { note: 'best' }, versions: [3], keyId, now });
 */
export async function updateRun(
  db: D1Database,
  input: {
    id: string;
    model: string;
    status: EndStatus | null;
    tags: Tags | null;
    versions: readonly number[];
    keyId: string;
    now: number;
  },
): Promise<void> {
  const { id, model, status, tags, versions, keyId, now } = input;
  const statements = [
    db
      .prepare(`UPDATE runs SET status = ?2, ended_at = ?3 WHERE id = ?1 AND ?2 IS NOT NULL AND status = 'running'`)
      .bind(id, status, now),
    // json_patch merges objects key by key: tags given here replace those of the same key.
    db.prepare('UPDATE runs SET tags = json_patch(tags, ?2) WHERE id = ?1').bind(id, JSON.stringify(tags ?? {})),
    ...versions.map((version) =>
      db
        .prepare(
          `INSERT OR IGNORE INTO run_versions (run_id, model, version, linked_at, linked_by)
           VALUES (?, ?, ?, ?, ?)`,
        )
        .bind(id, model, version, now, keyId),
    ),
  ];
  await db.batch(statements);
}
