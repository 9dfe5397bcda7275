import type { DriftReport } from '../../../protocol/profile/index.ts';

/** What an alias's current version needs attention for: its unacknowledged drift alerts. */
export interface Attention {
  version: number;
  windows: number;
  drifted: string[];
  since: number;
}

/**
 * Records that `window` of model@version drifted (once: a window's alert is never rewritten,
 * so an acknowledgement sticks). Returns whether the row is new.
 *
 * @example
 * await insertDriftAlert(env.DB, { model: 'digits', version: 3, window, report, now: Date.now() });
 */
export async function insertDriftAlert(
  db: D1Database,
  input: {
    model: string;
    version: number;
    window: number;
    drifted: readonly string[];
    report: DriftReport;
    now: number;
  },
): Promise<boolean> {
  const { model, version, window, drifted, report, now } = input;
  const result = await db
    .prepare(
      `INSERT OR IGNORE INTO drift_alerts
         (model, version, window, drifted, drifted_share, dataset_drifted, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      model,
      version,
      window,
      JSON.stringify(drifted),
      report.dataset.driftedShare,
      report.dataset.drifted ? 1 : 0,
      now,
    )
    .run();
  return result.meta.changes > 0;
}

/**
 * Stores a window's per-feature and dataset verdicts as the version's latest, unless a later
 * window is already stored (profiles of an older hour may arrive late).
 *
 * @example
 * await upsertDriftStats(env.DB, { model: 'digits', version: 3, window, report, now: Date.now() });
 */
export async function upsertDriftStats(
  db: D1Database,
  input: { model: string; version: number; window: number; report: DriftReport; now: number },
): Promise<void> {
  const { model, version, window, report, now } = input;
  const features = report.features.map((f) => ({
    name: f.name,
    method: f.method,
    statistic: f.statistic,
    threshold: f.threshold,
    drifted: f.drifted ? 1 : 0,
  }));
  // One statement for all features (json_each), like insertEvents: D1 limits statements per batch.
  await db.batch([
    db
      .prepare(
        `INSERT INTO drift_stats (model, version, feature, method, statistic, threshold, drifted, window, updated_at)
         SELECT ?1, ?2, value ->> '$.name', value ->> '$.method', value ->> '$.statistic',
                value ->> '$.threshold', value ->> '$.drifted', ?3, ?4
         FROM json_each(?5) WHERE true
         ON CONFLICT (model, version, feature) DO UPDATE SET
           method = excluded.method, statistic = excluded.statistic, threshold = excluded.threshold,
           drifted = excluded.drifted, window = excluded.window, updated_at = excluded.updated_at
         WHERE excluded.window >= drift_stats.window`,
      )
      .bind(model, version, window, now, JSON.stringify(features)),
    db
      .prepare(
        `INSERT INTO drift_datasets (model, version, drifted_share, drifted, threshold, window, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (model, version) DO UPDATE SET
           drifted_share = excluded.drifted_share, drifted = excluded.drifted, threshold = excluded.threshold,
           window = excluded.window, updated_at = excluded.updated_at
         WHERE excluded.window >= drift_datasets.window`,
      )
      .bind(
        model,
        version,
        report.dataset.driftedShare,
        report.dataset.drifted ? 1 : 0,
        report.dataset.threshold,
        window,
        now,
      ),
  ]);
}

/**
 * Acknowledges every open drift alert of model@version; returns how many.
 *
 * @example
 * const n = await acknowledgeDrift(env.DB, 'digits', 3, Date.now());
 */
export async function acknowledgeDrift(db: D1Database, model: string, version: number, now: number): Promise<number> {
  const result = await db
    .prepare('UPDATE drift_alerts SET acknowledged_at = ? WHERE model = ? AND version = ? AND acknowledged_at IS NULL')
    .bind(now, model, version)
    .run();
  return result.meta.changes;
}

/** For each model, its aliases whose current version has unacknowledged drift alerts. */
export async function attentionByModel(db: D1Database): Promise<Map<string, Record<string, Attention>>> {
  const { results } = await db
    .prepare(
      `SELECT a.model AS model, a.alias AS alias, a.version AS version, COUNT(*) AS windows,
              MIN(d.window) AS since, json_group_array(json(d.drifted)) AS drifted
       FROM aliases a
       JOIN drift_alerts d ON d.model = a.model AND d.version = a.version AND d.acknowledged_at IS NULL
       GROUP BY a.model, a.alias`,
    )
    .all<{ model: string; alias: string; version: number; windows: number; since: number; drifted: string }>();
  const out = new Map<string, Record<string, Attention>>();
  for (const row of results) {
    const names = new Set((JSON.parse(row.drifted) as string[][]).flat());
    const forModel = out.get(row.model) ?? {};
    forModel[row.alias] = { version: row.version, windows: row.windows, drifted: [...names].sort(), since: row.since };
    out.set(row.model, forModel);
  }
  return out;
}

/** A stored per-feature verdict, as /metrics exposes it. */
export interface DriftStatRow {
  model: string;
  version: number;
  feature: string;
  method: string;
  statistic: number | null;
  threshold: number;
  drifted: number;
}

/** Everything /metrics shows about drift: latest verdicts, dataset shares, alert counts. */
export async function driftMetrics(db: D1Database): Promise<{
  stats: DriftStatRow[];
  datasets: { model: string; version: number; drifted_share: number }[];
  alerts: { model: string; version: number; n: number }[];
}> {
  const [stats, datasets, alerts] = await db.batch([
    db.prepare(
      `SELECT model, version, feature, method, statistic, threshold, drifted FROM drift_stats
       ORDER BY model, version, feature`,
    ),
    db.prepare('SELECT model, version, drifted_share FROM drift_datasets ORDER BY model, version'),
    db.prepare(
      'SELECT model, version, COUNT(*) AS n FROM drift_alerts GROUP BY model, version ORDER BY model, version',
    ),
  ]);
  return {
    stats: (stats?.results ?? []) as DriftStatRow[],
    datasets: (datasets?.results ?? []) as { model: string; version: number; drifted_share: number }[],
    alerts: (alerts?.results ?? []) as { model: string; version: number; n: number }[],
  };
}
