import type { ShadowComparison } from '../infer/shadow.ts';

/** One comparison of a served version with its shadow, as /v2 infer records it. */
export interface ShadowRecord extends ShadowComparison {
  model: string;
  alias: string;
  version: number;
  shadowVersion: number;
  at: number;
}

/**
 * Records one shadow comparison.
 *
 * @example
 * await recordShadow(env.DB, { model: 'digits', alias: 'production', version: 3, shadowVersion: 4, at: Date.now(), rows: 1, agreed: 1, maxAbsDiff: 0.02 });
 */
export async function recordShadow(db: D1Database, r: ShadowRecord): Promise<void> {
  await db
    .prepare(
      `INSERT INTO shadow_comparisons (model, alias, version, shadow_version, at, rows, agreed, max_abs_diff)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(r.model, r.alias, r.version, r.shadowVersion, r.at, r.rows, r.agreed, r.maxAbsDiff)
    .run();
}

/**
 * Totals per served version and shadow: rows compared, rows agreed, the largest difference
 * (null when some comparison had outputs of different shapes).
 *
 * @example
 * const totals = await shadowTotals(env.DB); // [{ model: 'digits', version: 3, shadowVersion: 4, rows: 120, agreed: 117, maxAbsDiff: 0.4 }]
 */
export async function shadowTotals(
  db: D1Database,
): Promise<
  { model: string; version: number; shadowVersion: number; rows: number; agreed: number; maxAbsDiff: number | null }[]
> {
  const { results } = await db
    .prepare(
      `SELECT model, version, shadow_version AS shadowVersion, sum(rows) AS rows, sum(agreed) AS agreed,
              CASE WHEN count(max_abs_diff) = count(*) THEN max(max_abs_diff) END AS maxAbsDiff
       FROM shadow_comparisons GROUP BY model, version, shadow_version ORDER BY model, version, shadow_version`,
    )
    .all<{
      model: string;
      version: number;
      shadowVersion: number;
      rows: number;
      agreed: number;
      maxAbsDiff: number | null;
    }>();
  return results;
}
