import type { CardAlias, CardDrift, CardRun } from '../../../protocol/card.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import type { LatestMetric } from '../../../protocol/runs.ts';
import { getVersion } from '../storage/registry.ts';
import { latestMetrics } from '../storage/run-metrics.ts';
import { findRuns } from '../storage/runs.ts';

/** What D1 holds about a version for its card, besides the version itself. */
export interface CardFacts {
  info: VersionInfo;
  runs: CardRun[];
  aliases: CardAlias[];
  drift: Omit<CardDrift, 'reference'>;
}

interface AliasRow {
  alias: string;
  version: number;
  canary_version: number | null;
  canary_percent: number | null;
  shadow_version: number | null;
}

interface AlertRow {
  windows: number;
  since: number | null;
  drifted: string;
}

interface StatRow {
  feature: string;
  method: string;
  statistic: number | null;
  threshold: number;
  drifted: number;
}

interface DatasetRow {
  drifted_share: number;
  drifted: number;
  threshold: number;
  window: number;
  updated_at: number;
}

/** The roles `version` holds in each alias row (one alias may give it several). */
function rolesOf(rows: readonly AliasRow[], version: number): CardFacts['aliases'] {
  const out: CardFacts['aliases'] = [];
  for (const row of rows) {
    const canary = row.canary_version === null ? 0 : (row.canary_percent ?? 0);
    if (row.version === version) out.push({ alias: row.alias, role: 'stable', percent: 100 - canary });
    if (row.canary_version === version) out.push({ alias: row.alias, role: 'canary', percent: canary });
    if (row.shadow_version === version) out.push({ alias: row.alias, role: 'shadow', percent: null });
  }
  return out;
}

function driftOf(
  alerts: AlertRow | undefined,
  stats: readonly StatRow[],
  dataset: DatasetRow | undefined,
): CardFacts['drift'] {
  const names = new Set((JSON.parse(alerts?.drifted ?? '[]') as string[][]).flat());
  return {
    openAlerts: { windows: alerts?.windows ?? 0, since: alerts?.since ?? null, drifted: [...names].sort() },
    lastJudged: dataset
      ? {
          window: dataset.window,
          updatedAt: dataset.updated_at,
          driftedShare: dataset.drifted_share,
          drifted: dataset.drifted === 1,
          threshold: dataset.threshold,
          features: stats.map((s) => ({
            name: s.feature,
            method: s.method,
            statistic: s.statistic,
            threshold: s.threshold,
            drifted: s.drifted === 1,
          })),
        }
      : null,
  };
}

/** The version's runs (linked ones, and the one its lineage names) with their latest metrics. */
async function runsOf(db: D1Database, linked: readonly string[], lineageRunId: string | undefined): Promise<CardRun[]> {
  const ids = [...new Set([...linked, ...(lineageRunId === undefined ? [] : [lineageRunId])])];
  if (ids.length === 0) return [];
  const [runs, metrics] = await Promise.all([findRuns(db, ids), latestMetrics(db, ids).all()]);
  const byRun = new Map<string, Record<string, LatestMetric>>();
  for (const m of metrics.results as { run_id: string; key: string; value: number; step: number; ts: number }[]) {
    const latest = byRun.get(m.run_id) ?? {};
    latest[m.key] = { value: m.value, step: m.step, ts: m.ts };
    byRun.set(m.run_id, latest);
  }
  return runs
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
    .map((run) => ({
      id: run.id,
      name: run.name,
      status: run.status,
      parentVersion: run.parentVersion,
      params: run.params,
      metrics: byRun.get(run.id) ?? {},
      createdAt: run.createdAt,
      endedAt: run.endedAt,
      via: [
        ...(linked.includes(run.id) ? (['link'] as const) : []),
        ...(run.id === lineageRunId ? (['lineage'] as const) : []),
      ],
    }));
}

/**
 * Everything a card needs from D1 (no Durable Object), or null when the version does not exist:
 * the version, its runs, the aliases pointing at it, its open drift alerts and last verdicts.
 *
 * @example
 * const facts = await readCardFacts(env.DB, 'digits', 3); // facts?.aliases: [{ alias: 'production', role: 'stable', … }]
 */
export async function readCardFacts(db: D1Database, model: string, version: number): Promise<CardFacts | null> {
  const info = await getVersion(db, model, version);
  if (!info) return null;
  const [linked, aliases, alerts, stats, dataset] = await db.batch([
    db.prepare('SELECT run_id FROM run_versions WHERE model = ? AND version = ? ORDER BY run_id').bind(model, version),
    db
      .prepare(
        `SELECT alias, version, canary_version, canary_percent, shadow_version FROM aliases
         WHERE model = ?1 AND (version = ?2 OR canary_version = ?2 OR shadow_version = ?2) ORDER BY alias`,
      )
      .bind(model, version),
    db
      .prepare(
        `SELECT COUNT(*) AS windows, MIN(window) AS since, json_group_array(json(drifted)) AS drifted
         FROM drift_alerts WHERE model = ? AND version = ? AND acknowledged_at IS NULL`,
      )
      .bind(model, version),
    db
      .prepare(
        `SELECT feature, method, statistic, threshold, drifted FROM drift_stats
         WHERE model = ? AND version = ? ORDER BY feature`,
      )
      .bind(model, version),
    db
      .prepare(
        'SELECT drifted_share, drifted, threshold, window, updated_at FROM drift_datasets WHERE model = ? AND version = ?',
      )
      .bind(model, version),
  ]);
  const runIds = ((linked?.results ?? []) as { run_id: string }[]).map((r) => r.run_id);
  return {
    info,
    runs: await runsOf(db, runIds, info.manifest.lineage?.runId),
    aliases: rolesOf((aliases?.results ?? []) as AliasRow[], version),
    drift: driftOf(
      alerts?.results[0] as AlertRow | undefined,
      (stats?.results ?? []) as StatRow[],
      dataset?.results[0] as DatasetRow | undefined,
    ),
  };
}
