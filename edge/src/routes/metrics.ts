import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { driftMetrics } from '../storage/drift.ts';
import { INFERENCE_BUCKETS_MS, type InferenceDurationRow, inferenceStats } from '../storage/inference-stats.ts';
import { shadowTotals } from '../storage/shadow.ts';

/** Prometheus text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string | number>>;

/**
 * A label value escaped as the exposition format asks: backslash, double quote and newline.
 *
 * @example
 * escapeLabel('a "b"\n'); // 'a \\"b\\"\\n'
 */
export const escapeLabel = (value: string): string =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const sample = (name: string, labels: Labels, value: number): string => {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  const shown = Number.isNaN(value)
    ? 'NaN'
    : value === Infinity
      ? '+Inf'
      : value === -Infinity
        ? '-Inf'
        : String(value);
  return `${name}{${pairs.join(',')}} ${shown}`;
};

/** One metric family: HELP and TYPE lines, then its samples (HELP text escapes \ and newline). */
function family(
  name: string,
  type: 'gauge' | 'counter' | 'histogram',
  help: string,
  samples: readonly string[],
): string[] {
  return [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`, ...samples];
}

/**
 * The drift section: each version's latest per-feature verdict (from its most recent window
 * with data), dataset drift share and how many windows raised an alert.
 *
 * @example
 * const lines = await driftSection(env.DB); // ['# HELP edgeloop_drift_statistic …', …]
 */
export async function driftSection(db: D1Database): Promise<string[]> {
  const { stats, datasets, alerts } = await driftMetrics(db);
  const feature = (row: (typeof stats)[number]) => ({
    model: row.model,
    version: row.version,
    feature: row.feature,
    method: row.method,
  });
  return [
    ...family(
      'edgeloop_drift_statistic',
      'gauge',
      'Drift statistic of a feature in the latest window with data, against the reference profile.',
      stats.map((row) => sample('edgeloop_drift_statistic', feature(row), row.statistic ?? Number.NaN)),
    ),
    ...family(
      'edgeloop_drift_threshold',
      'gauge',
      'Threshold the drift statistic is judged by (a p-value for ks and chisquare).',
      stats.map((row) => sample('edgeloop_drift_threshold', feature(row), row.threshold)),
    ),
    ...family(
      'edgeloop_drift_detected',
      'gauge',
      '1 when the feature drifted in the latest window with data, else 0.',
      stats.map((row) => sample('edgeloop_drift_detected', feature(row), row.drifted ? 1 : 0)),
    ),
    ...family(
      'edgeloop_drift_dataset_share',
      'gauge',
      'Share of features that drifted in the latest window with data.',
      datasets.map((row) =>
        sample('edgeloop_drift_dataset_share', { model: row.model, version: row.version }, row.drifted_share),
      ),
    ),
    ...family(
      'edgeloop_drift_alerts_total',
      'counter',
      'Hour windows that raised a drift alert.',
      alerts.map((row) => sample('edgeloop_drift_alerts_total', { model: row.model, version: row.version }, row.n)),
    ),
  ];
}

/**
 * The shadow section: per served version and shadow, the rows compared at the edge, the rows
 * whose top class agreed, and the largest output difference seen.
 *
 * @example
 * const lines = await shadowSection(env.DB); // ['# HELP edgeloop_shadow_rows_total …', …]
 */
export async function shadowSection(db: D1Database): Promise<string[]> {
  const rows = await shadowTotals(db);
  const labels = (row: (typeof rows)[number]) => ({
    model: row.model,
    version: row.version,
    shadow_version: row.shadowVersion,
  });
  return [
    ...family(
      'edgeloop_shadow_rows_total',
      'counter',
      "Rows of /v2 infer requests also run on the rollout's shadow version.",
      rows.map((row) => sample('edgeloop_shadow_rows_total', labels(row), row.rows)),
    ),
    ...family(
      'edgeloop_shadow_agreed_total',
      'counter',
      'Of those rows, the ones whose top class the shadow agreed on.',
      rows.map((row) => sample('edgeloop_shadow_agreed_total', labels(row), row.agreed)),
    ),
    ...family(
      'edgeloop_shadow_max_abs_diff',
      'gauge',
      'Largest absolute difference between the served and the shadow output (NaN: their shapes differed).',
      rows.map((row) => sample('edgeloop_shadow_max_abs_diff', labels(row), row.maxAbsDiff ?? Number.NaN)),
    ),
  ];
}

/**
 * The samples of a duration histogram per model version and runtime: D1 holds each bucket's own
 * count, so `_bucket` adds every stored bucket at or below its bound (stored bounds that are not
 * current ones still land in the next bound up), and `+Inf` equals `_count`.
 */
function histogramSamples(name: string, rows: readonly InferenceDurationRow[]): string[] {
  const series = new Map<string, InferenceDurationRow[]>();
  for (const row of rows) {
    const key = JSON.stringify([row.model, row.version, row.runtime]);
    const list = series.get(key);
    if (list) list.push(row);
    else series.set(key, [row]);
  }
  return [...series.values()].flatMap((buckets) => {
    const [first] = buckets;
    if (!first) return [];
    const labels = { model: first.model, version: first.version, runtime: first.runtime };
    const stored = buckets.map((b) => ({ le: b.le === '+Inf' ? Infinity : Number(b.le), n: b.n }));
    const upTo = (bound: number) => stored.reduce((n, b) => (b.le <= bound ? n + b.n : n), 0);
    const sumMs = buckets.reduce((sum, b) => sum + b.sumMs, 0);
    return [
      ...[...INFERENCE_BUCKETS_MS, Infinity].map((bound) =>
        sample(`${name}_bucket`, { ...labels, le: bound === Infinity ? '+Inf' : bound }, upTo(bound)),
      ),
      sample(`${name}_sum`, labels, sumMs),
      sample(`${name}_count`, labels, upTo(Infinity)),
    ];
  });
}

/**
 * The inference section, after Triton's `nv_inference_*`: /v2 infer requests per model version,
 * runtime and answer status, queue and compute duration histograms of the successful ones, and
 * the model cache's hits and misses, totalled over every isolate (see storage/inference-stats.ts).
 *
 * @example
 * const lines = await inferenceSection(env.DB); // ['# HELP edgeloop_inference_request_total …', …]
 */
export async function inferenceSection(db: D1Database): Promise<string[]> {
  const { requests, cache, durations } = await inferenceStats(db);
  const queue = 'edgeloop_inference_queue_duration_ms';
  const compute = 'edgeloop_inference_compute_duration_ms';
  return [
    ...family(
      'edgeloop_inference_request_total',
      'counter',
      '/v2 infer requests whose model version was resolved, by the HTTP status of their answer.',
      requests.map(({ model, version, runtime, status, requests: n }) =>
        sample('edgeloop_inference_request_total', { model, version, runtime, status }, n),
      ),
    ),
    ...family(
      queue,
      'histogram',
      'Milliseconds from arrival until the model started computing (auth, parsing, validation, model load), of successful /v2 infer requests.',
      histogramSamples(
        queue,
        durations.filter((row) => row.kind === 'queue'),
      ),
    ),
    ...family(
      compute,
      'histogram',
      'Milliseconds spent running the model, of successful /v2 infer requests.',
      histogramSamples(
        compute,
        durations.filter((row) => row.kind === 'compute'),
      ),
    ),
    ...family(
      'edgeloop_inference_cache_total',
      'counter',
      "Lookups of /v2 infer requests in their isolate's model cache, by result.",
      cache.flatMap(({ model, version, hits, misses }) => [
        sample('edgeloop_inference_cache_total', { model, version, result: 'hit' }, hits),
        sample('edgeloop_inference_cache_total', { model, version, result: 'miss' }, misses),
      ]),
    ),
  ];
}

/** `GET /metrics`: Prometheus exposition, one section per feature. */
export const metrics = new Hono<AppEnv>().get('/metrics', requireScope('read'), async (c) => {
  const lines = [
    ...(await driftSection(c.env.DB)),
    ...(await shadowSection(c.env.DB)),
    ...(await inferenceSection(c.env.DB)),
  ];
  c.header('Cache-Control', 'no-store');
  return c.body(`${lines.join('\n')}\n`, 200, { 'Content-Type': METRICS_CONTENT_TYPE });
});
