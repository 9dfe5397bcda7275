import type { DriftWindows } from '../../../protocol/drift.ts';
import { WINDOW_MS } from '../../../protocol/profile/index.ts';

/** A value per hour of the range, null where the hour has no data (a gap in the line). */
export type Column = (number | null)[];

export interface FeatureSeries {
  name: string;
  method: string;
  threshold: number;
  statistic: Column;
  /** 1 where the window drifted, null elsewhere: drawn as points on the statistic's line. */
  drifted: Column;
}

/** Columns for uPlot: `x` in seconds (uPlot's time unit), one entry per hour of [from, to). */
export interface WindowSeries {
  x: number[];
  /** Rows judged in the hour itself (a thin hour's report may also judge the hours before it). */
  rows: Column;
  /** Rows kept but not judged: from clients on probation or edge callers no token proves. */
  heldBack: Column;
  feedback: Column;
  accuracy: Column;
  ece: Column;
  datasetShare: Column;
  features: FeatureSeries[];
}

/**
 * Lays per-window drift reports on the hourly grid of [from, to), so 30 days is 720 points per
 * column whatever the windows with data; features are taken from the reports in their order.
 *
 * @example
 * const s = windowSeries(answer.windows, from, to);
 * s.features[0].statistic // [null, 0.03, 0.41, …]
 */
export function windowSeries(windows: DriftWindows['windows'], from: number, to: number): WindowSeries {
  const hours = Math.max(0, Math.ceil((to - from) / WINDOW_MS));
  const x = Array.from({ length: hours }, (_, i) => (from + i * WINDOW_MS) / 1000);
  const column = (): Column => new Array<number | null>(hours).fill(null);
  const series: WindowSeries = {
    x,
    rows: column(),
    heldBack: column(),
    feedback: column(),
    accuracy: column(),
    ece: column(),
    datasetShare: column(),
    features: [],
  };
  const byName = new Map<string, FeatureSeries>();
  for (const { from: start, report } of windows) {
    const i = Math.floor((start - from) / WINDOW_MS);
    if (i < 0 || i >= hours) continue;
    const basis = report.basis;
    series.rows[i] = basis ? basis.rows : report.current.count;
    series.heldBack[i] = basis ? basis.heldBack.probation.rows + basis.heldBack.unverified.rows : null;
    series.datasetShare[i] = report.dataset.driftedShare;
    if (report.performance) {
      series.feedback[i] = report.performance.count;
      series.accuracy[i] = report.performance.accuracy;
      series.ece[i] = report.performance.ece;
    }
    for (const f of report.features) {
      let feature = byName.get(f.name);
      if (!feature) {
        feature = { name: f.name, method: f.method, threshold: f.threshold, statistic: column(), drifted: column() };
        byName.set(f.name, feature);
        series.features.push(feature);
      }
      feature.statistic[i] = f.statistic;
      if (f.drifted) feature.drifted[i] = f.statistic;
    }
  }
  return series;
}

/**
 * Formats a time for tables: UTC, to the minute, so screenshots and tests read the same anywhere.
 *
 * @example
 * formatTime(0) // '1970-01-01 00:00 UTC'
 */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
