import { EdgeloopError } from '../errors.ts';
import { categoricalTotal } from './categorical.ts';
import { performance } from './performance.ts';
import type { DriftReport, FeatureDrift } from './report.schema.ts';
import type { CategoricalProfile, FeatureProfile, NumericProfile, Profile } from './schema.ts';
import {
  binCategorical,
  binDeciles,
  binNumeric,
  chiSquare,
  chiSquareCounts,
  jensenShannon,
  ks,
  psi,
  wassersteinNorm,
} from './stats.ts';

type Method = FeatureDrift['method'];

/** A feature to judge, as in a manifest's FeatureSpec. */
export interface DriftFeature {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  readonly drift?: { readonly method?: Method; readonly threshold?: number };
}

export interface DriftOptions {
  /** Model name for the report; 'model' by default. */
  readonly model?: string;
  /** Model version for the report; 1 by default. */
  readonly version?: number;
  /** The current window in ms since the epoch; { from: 0, to: 0 } by default. */
  readonly window?: { readonly from: number; readonly to: number };
  /** Features to judge, in order, with per-feature method/threshold; the reference's by default. */
  readonly features?: readonly DriftFeature[];
  /** Share of drifted features at which the dataset drifts; 0.5 by default. */
  readonly datasetThreshold?: number;
}

/** Thresholds when only a method is configured (tests: on the p-value; distances: on the statistic). */
const DEFAULT_THRESHOLD: Record<Method, number> = {
  psi: 0.1,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  ks: 0.05,
  chisquare: 0.05,
};
/** Evidently's switch from tests to distances for large references. */
const LARGE_REFERENCE = 1000;

type Verdict = Omit<FeatureDrift, 'name' | 'kind'>;

function valueCount(p: FeatureProfile): number {
  return p.kind === 'numeric' ? p.sketch.n : categoricalTotal(p);
}

function defaultMethod(kind: FeatureProfile['kind'], referenceCount: number): Method {
  if (referenceCount > LARGE_REFERENCE) return kind === 'numeric' ? 'wasserstein' : 'jensenshannon';
  return kind === 'numeric' ? 'ks' : 'chisquare';
}

function verdict(method: Method, threshold: number, result: { statistic: number; pValue?: number } | null): Verdict {
  if (!result) return { method, statistic: null, threshold, drifted: false };
  if (result.pValue === undefined)
    return { method, statistic: result.statistic, threshold, drifted: result.statistic >= threshold };
  return { method, statistic: result.statistic, threshold, drifted: result.pValue < threshold, pValue: result.pValue };
}

const NUMERIC_ONLY: readonly Method[] = ['ks', 'wasserstein'];

function checkMethod(name: string, kind: FeatureProfile['kind'], method: Method): void {
  if ((kind === 'categorical' && NUMERIC_ONLY.includes(method)) || (kind === 'numeric' && method === 'chisquare')) {
    throw new EdgeloopError('PROFILE_MISMATCH', `feature ${name}: ${method} does not apply to ${kind} features`);
  }
}

function numericStatistic(method: Method, r: NumericProfile, c: NumericProfile) {
  if (method === 'ks') return ks(r, c);
  if (method === 'wasserstein') return { statistic: wassersteinNorm(r, c) };
  return { statistic: method === 'psi' ? psi(binDeciles(r, c)) : jensenShannon(binNumeric(r, c)) };
}

function categoricalStatistic(method: Method, r: CategoricalProfile, c: CategoricalProfile) {
  if (method === 'chisquare') return chiSquare(r, c);
  return { statistic: method === 'psi' ? psi(binCategorical(r, c)) : jensenShannon(binCategorical(r, c)) };
}

function judge(spec: DriftFeature, reference: FeatureProfile, current: FeatureProfile | undefined): Verdict {
  const method = spec.drift?.method ?? defaultMethod(reference.kind, valueCount(reference));
  const threshold = spec.drift?.threshold ?? DEFAULT_THRESHOLD[method];
  if (current && current.kind !== reference.kind) {
    throw new EdgeloopError(
      'PROFILE_MISMATCH',
      `feature ${spec.name} is ${reference.kind} in the reference, ${current.kind} now`,
    );
  }
  checkMethod(spec.name, reference.kind, method);
  if (!current || valueCount(current) === 0 || valueCount(reference) === 0) return verdict(method, threshold, null);
  const result =
    reference.kind === 'numeric'
      ? numericStatistic(method, reference, current as NumericProfile)
      : categoricalStatistic(method, reference, current as CategoricalProfile);
  return verdict(method, threshold, result);
}

function predictionDrift(reference: Profile, current: Profile): Verdict | undefined {
  const r = reference.outputs;
  const c = current.outputs;
  if (!r || !c) return undefined;
  if (r.kind === 'scores' && c.kind === 'scores') return judge({ name: 'scores', kind: 'numeric' }, r.scores, c.scores);
  if (r.kind === 'classes' && c.kind === 'classes' && r.counts.length === c.counts.length) {
    const refTotal = r.counts.reduce((s, x) => s + x, 0);
    const curTotal = c.counts.reduce((s, x) => s + x, 0);
    const method = refTotal > LARGE_REFERENCE ? 'jensenshannon' : 'chisquare';
    const threshold = DEFAULT_THRESHOLD[method];
    if (refTotal === 0 || curTotal === 0) return verdict(method, threshold, null);
    const share = (counts: readonly number[], total: number) => counts.map((x) => (x > 0 ? x / total : 0.0001));
    const result =
      method === 'chisquare'
        ? chiSquareCounts({ ref: r.counts, cur: c.counts })
        : { statistic: jensenShannon({ reference: share(r.counts, refTotal), current: share(c.counts, curTotal) }) };
    return verdict(method, threshold, result);
  }
  throw new EdgeloopError('PROFILE_MISMATCH', 'the reference and current outputs differ in kind or class count');
}

/**
 * Judges drift of `current` against `reference` feature by feature, with Evidently's defaults
 * (a reference of over 1,000 values: Wasserstein ≥ 0.1 for numeric, Jensen–Shannon ≥ 0.1 for
 * categorical; else KS and chi-square p < 0.05) unless a feature sets `drift.method`/`threshold`.
 * Throws PROFILE_MISMATCH when a judged feature is missing from the reference, differs in kind,
 * or is given a method for the other kind (ks/wasserstein numeric only, chisquare categorical only).
 *
 * @example
 * const report = driftReport(reference, current, { model: 'digits', version: 3, features: manifest.features.features });
 * report.dataset.drifted // true when at least half the features drifted
 */
export function driftReport(reference: Profile, current: Profile, options: DriftOptions = {}): DriftReport {
  const specs =
    options.features ??
    Object.keys(reference.features)
      .sort()
      .map((name) => ({ name, kind: reference.features[name]?.kind ?? 'numeric' }));
  const features = specs.map((spec): FeatureDrift => {
    const r = reference.features[spec.name];
    if (!r || r.kind !== spec.kind) {
      throw new EdgeloopError('PROFILE_MISMATCH', `the reference has no ${spec.kind} feature ${spec.name}`);
    }
    return { name: spec.name, kind: spec.kind, ...judge(spec, r, current.features[spec.name]) };
  });
  const judged = features.filter((f) => f.statistic !== null);
  const driftedShare = judged.length > 0 ? judged.filter((f) => f.drifted).length / judged.length : 0;
  const threshold = options.datasetThreshold ?? 0.5;
  const report: DriftReport = {
    v: 1,
    model: options.model ?? 'model',
    version: options.version ?? 1,
    window: { from: options.window?.from ?? 0, to: options.window?.to ?? 0 },
    reference: { count: reference.count },
    current: { count: current.count },
    features,
    dataset: { driftedShare, drifted: judged.length > 0 && driftedShare >= threshold, threshold },
  };
  const predictions = predictionDrift(reference, current);
  if (predictions) report.predictions = predictions;
  if (current.feedback) report.performance = performance(current.feedback);
  return report;
}
