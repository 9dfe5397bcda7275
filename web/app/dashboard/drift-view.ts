import { DistributionComparison, type FeatureDistribution } from '../../../protocol/dashboard.ts';
import { DriftWindows } from '../../../protocol/drift.ts';
import { ApiFailure, type DashboardApi } from './api.ts';
import { barChart, timeChart } from './charts.ts';
import { windowSeries } from './series.ts';

export interface DriftParents {
  drift: HTMLElement;
  distributions: HTMLElement;
  performance: HTMLElement;
}

/** How long the charts took, for the page's `data-render-ms` (the e2e test reports it). */
export interface DriftTiming {
  points: number;
  fetchMs: number;
  renderMs: number;
}

const binLabels = (f: FeatureDistribution): string[] =>
  f.kind === 'categorical'
    ? f.categories
    : f.edges.slice(0, -1).map((edge) => (Math.abs(edge) >= 100 ? edge.toFixed(0) : edge.toPrecision(2)));

const note = (text: string) => Object.assign(document.createElement('p'), { textContent: text });

/**
 * Fetches the version's per-hour drift reports and its reference/current distributions once
 * for the range, then draws per-feature drift, distributions and feedback charts with uPlot.
 *
 * @example
 * const timing = await showDrift(api, 'digits', 1, { from, to }, parents);
 */
export async function showDrift(
  api: DashboardApi,
  model: string,
  version: number,
  range: { from: number; to: number },
  parents: DriftParents,
): Promise<DriftTiming | null> {
  const base = `/v1/models/${encodeURIComponent(model)}/versions/${version}/drift`;
  const query = `?from=${range.from}&to=${range.to}`;
  for (const parent of Object.values(parents)) parent.replaceChildren();
  const started = performance.now();
  let answers: [DriftWindows, DistributionComparison];
  try {
    answers = await Promise.all([
      api.get(DriftWindows, `${base}/windows${query}`),
      api.get(DistributionComparison, `${base}/distributions${query}`),
    ]);
  } catch (error) {
    if (!(error instanceof ApiFailure && error.code === 'NO_REFERENCE')) throw error;
    const text = `v${version} has no reference profile, so there is no drift or feedback to chart.`;
    for (const parent of Object.values(parents)) parent.append(note(text));
    return null;
  }
  const fetched = performance.now();
  const [windows, distributions] = answers;
  const series = windowSeries(windows.windows, range.from, range.to);
  for (const f of series.features) {
    timeChart(parents.drift, `${f.name}: ${f.method} per hour (threshold ${f.threshold})`, series.x, [
      { label: f.method, values: f.statistic, color: '#2563eb' },
      { label: 'threshold', values: series.x.map(() => f.threshold), color: '#64748b', dash: [4, 4] },
      { label: 'drifted', values: f.drifted, color: '#dc2626', points: true },
    ]);
  }
  timeChart(parents.drift, 'Rows profiled per hour', series.x, [
    { label: 'rows', values: series.rows, color: '#0f766e' },
    { label: 'held back (new or unproven clients)', values: series.heldBack, color: '#a16207', dash: [2, 2] },
  ]);
  parents.distributions.append(
    note(
      `Reference: ${distributions.reference.count} rows; current (this range): ${distributions.current.count} rows.`,
    ),
  );
  for (const f of distributions.features) {
    barChart(
      parents.distributions,
      `${f.name}: share per ${f.kind === 'numeric' ? 'bin' : 'category'}`,
      binLabels(f),
      f.reference,
      f.current,
    );
  }
  timeChart(parents.performance, 'Labelled feedback per hour', series.x, [
    { label: 'feedback', values: series.feedback, color: '#7c3aed' },
  ]);
  timeChart(parents.performance, 'Accuracy and calibration error (ECE) per hour', series.x, [
    { label: 'accuracy', values: series.accuracy, color: '#16a34a' },
    { label: 'ECE', values: series.ece, color: '#ea580c' },
  ]);
  return { points: series.x.length, fetchMs: fetched - started, renderMs: performance.now() - fetched };
}
