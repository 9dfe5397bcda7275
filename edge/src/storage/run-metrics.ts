import type { MetricPoint, MetricSeries } from '../../../protocol/runs.ts';

/**
 * Writes metric points to a run in one statement (one transaction), only while the run is
 * `running`; a step already recorded for a key is replaced. The points travel as one JSON
 * parameter, which keeps a 1000-point request within D1's limit on bound parameters.
 * Returns false, having written nothing, when the run is not running (or does not exist).
 *
 * @example
 * await appendMetrics(env.DB, 'run_0f3c…', [{ key: 'loss', value: 0.3, step: 1 }], Date.now());
 */
export async function appendMetrics(
  db: D1Database,
  runId: string,
  points: readonly MetricPoint[],
  now: number,
): Promise<boolean> {
  const rows = points.map((p) => [p.key, p.step, p.value, p.ts ?? now]);
  const result = await db
    .prepare(
      `INSERT INTO run_metrics (run_id, key, step, value, ts)
       SELECT ?1, p.value ->> 0, p.value ->> 1, p.value ->> 2, p.value ->> 3 FROM json_each(?2) AS p
       WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1 AND status = 'running')
       ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, ts = excluded.ts`,
    )
    .bind(runId, JSON.stringify(rows))
    .run();
  return result.meta.changes > 0;
}

/**
 * A statement selecting the latest point (highest step) of each metric of each run in
 * `runIds`: rows `{run_id, key, step, value, ts}`, for use in a batch.
 */
export function latestMetrics(db: D1Database, runIds: readonly string[]): D1PreparedStatement {
  // SQLite takes the bare columns (value, ts) from the row that holds MAX(step).
  return db
    .prepare(
      `SELECT run_id, key, MAX(step) AS step, value, ts FROM run_metrics
       WHERE run_id IN (SELECT value FROM json_each(?)) GROUP BY run_id, key ORDER BY run_id, key`,
    )
    .bind(JSON.stringify(runIds));
}

/**
 * The whole series of one metric of a run, ordered by step.
 *
 * @example
 * const { points } = await metricSeries(env.DB, 'run_0f3c…', 'loss');
 */
export async function metricSeries(db: D1Database, runId: string, key: string): Promise<MetricSeries> {
  const { results } = await db
    .prepare('SELECT step, value, ts FROM run_metrics WHERE run_id = ? AND key = ? ORDER BY step')
    .bind(runId, key)
    .all<{ step: number; value: number; ts: number }>();
  return { runId, key, points: results };
}
