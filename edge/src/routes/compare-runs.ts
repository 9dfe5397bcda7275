import { ErrorCode } from '../../../protocol/errors.ts';
import type { RunComparison } from '../../../protocol/runs.ts';
import { ApiError } from '../http/api-error.ts';
import { latestMetrics } from '../storage/run-metrics.ts';
import { findRuns } from '../storage/runs.ts';

/**
 * Runs side by side: each run's params and latest metric values, in the order of `ids`,
 * plus the param keys whose values are not the same in every run (a key some runs lack
 * counts as differing). Throws 404 RUN_NOT_FOUND naming the first unknown id.
 *
 * @example
 * const { differingParams } = await compareRuns(env.DB, ['run_0f3c…', 'run_9ab1…']);
 * // ['lr']
 */
export async function compareRuns(db: D1Database, ids: readonly string[]): Promise<RunComparison> {
  const byId = new Map((await findRuns(db, ids)).map((run) => [run.id, run]));
  const unknown = ids.find((id) => !byId.has(id));
  if (unknown !== undefined) throw new ApiError(404, ErrorCode.RUN_NOT_FOUND, `no run with id "${unknown}"`);

  const { results } = await latestMetrics(db, ids).all<{ run_id: string; key: string; value: number }>();
  const metrics = new Map<string, Record<string, number>>(ids.map((id) => [id, {}]));
  for (const row of results) {
    const of = metrics.get(row.run_id);
    if (of) of[row.key] = row.value;
  }

  const runs = ids.flatMap((id) => {
    const run = byId.get(id);
    if (!run) return [];
    return [
      { id, model: run.model, name: run.name, status: run.status, params: run.params, metrics: metrics.get(id) ?? {} },
    ];
  });
  const paramKeys = new Set(runs.flatMap((run) => Object.keys(run.params)));
  const differingParams = [...paramKeys]
    .filter((key) => new Set(runs.map((run) => JSON.stringify(run.params[key] ?? null))).size > 1)
    .sort();
  const metricKeys = [...new Set(results.map((row) => row.key))].sort();
  return { runs, differingParams, metricKeys };
}
