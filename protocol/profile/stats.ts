import { type KllView, kllView, quantile } from './kll.ts';
import type { CategoricalProfile, NumericProfile } from './schema.ts';

// Drift statistics computed from profiles, following Evidently's definitions (get_binned_data,
// psi, jensenshannon, ks, wasserstein_distance_norm, chisquare) so thresholds carry over.

/** Evidently's feel_zeroes: an empty bin counts as this share, so logs stay finite. */
const ZERO_SHARE = 0.0001;
const MAX_BINS = 64;

/** Bin shares of the reference and current data. */
export interface Binned {
  readonly reference: number[];
  readonly current: number[];
}

function shares(counts: readonly number[], total: number): number[] {
  return counts.map((c) => (total > 0 && c > 0 ? c / total : ZERO_SHARE));
}

/**
 * A numeric profile's CDF (share of values ≤ x) from its sketch. Repeated items mean discrete
 * data: the sketch's step CDF. Otherwise an item of weight 2^h stands for values on both sides
 * of it, so the CDF is linear between the midpoints of its steps (Hazen's plotting positions);
 * a step CDF leaves sparse tail bins empty, which PSI magnifies. (Anchoring the ends at the
 * exact min/max was tried: it spreads tail items too far on heavy-tailed data.)
 */
interface Curve {
  readonly xs: readonly number[];
  readonly fs: readonly number[];
  readonly linear: boolean;
}

function curve(p: NumericProfile, linear: boolean): Curve {
  const view = kllView(p.sketch);
  const xs: number[] = [];
  const fs: number[] = [];
  let previous = 0;
  view.items.forEach((x, i) => {
    const cum = (view.cum[i] as number) / view.n;
    xs.push(x);
    fs.push(linear ? (previous + cum) / 2 : cum);
    previous = cum;
  });
  return { xs, fs, linear };
}

/** The curve at x: share ≤ x (< x when `strict`) for steps, interpolated when linear. */
function at(c: Curve, x: number, strict = false): number {
  let lo = 0;
  let hi = c.xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const item = c.xs[mid] as number;
    if (strict ? item < x : item <= x) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  if (lo === c.xs.length) return 1;
  const f0 = c.fs[lo - 1] as number;
  if (!c.linear) return f0;
  const x0 = c.xs[lo - 1] as number;
  return f0 + (((c.fs[lo] as number) - f0) * (x - x0)) / ((c.xs[lo] as number) - x0);
}

function linearPair(reference: NumericProfile, current: NumericProfile): [Curve, Curve] {
  const linear = !kllView(reference.sketch).ties && !kllView(current.sketch).ties;
  return [curve(reference, linear), curve(current, linear)];
}

function binCounts(c: Curve, n: number, edges: readonly number[]): number[] {
  // Bins are [e_i, e_i+1) with the last one closed, as numpy.histogram's. Cumulative counts at
  // the edges are rounded to whole values, as the data's own histogram would have them.
  const below = edges.map((e, i) => (i === 0 ? 0 : i === edges.length - 1 ? n : Math.round(at(c, e, true) * n)));
  return edges.slice(0, -1).map((_, i) => Math.max(0, (below[i + 1] as number) - (below[i] as number)));
}

/**
 * Numeric bin shares as Evidently's get_binned_data: Sturges' count (at most 64) of equal-width
 * bins over both ranges, shares from each sketch's CDF, empty bins set to 0.0001. Both
 * profiles need finite values.
 *
 * @example
 * binNumeric(ref.features.x, cur.features.x) // { reference: [0.2, …], current: [0.1, …] }
 */
export function binNumeric(reference: NumericProfile, current: NumericProfile): Binned {
  const nr = reference.sketch.n;
  const nc = current.sketch.n;
  const lo = Math.min(reference.min ?? 0, current.min ?? 0);
  const hi = Math.max(reference.max ?? 0, current.max ?? 0);
  if (!(hi > lo)) return { reference: [1], current: [1] };
  const bins = Math.min(MAX_BINS, Math.ceil(Math.log2(nr + nc) + 1));
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
  const [r, c] = linearPair(reference, current);
  return { reference: shares(binCounts(r, nr, edges), nr), current: shares(binCounts(c, nc, edges), nc) };
}

/**
 * Numeric bin shares for PSI: the reference's deciles (PSI's customary buckets), so every bin
 * holds about a tenth of the reference and the sketch's rank error stays small against each
 * share; equal-width bins leave tails of a few values, on which PSI's log ratio magnifies that
 * error. Repeated deciles (discrete data) merge into one bin. Both profiles need finite values.
 *
 * @example
 * binDeciles(ref.features.x, cur.features.x) // { reference: [0.1, …, 0.1], current: [0.04, …] }
 */
export function binDeciles(reference: NumericProfile, current: NumericProfile, buckets = 10): Binned {
  const nr = reference.sketch.n;
  const nc = current.sketch.n;
  const lo = Math.min(reference.min ?? 0, current.min ?? 0);
  const hi = Math.max(reference.max ?? 0, current.max ?? 0);
  if (!(hi > lo)) return { reference: [1], current: [1] };
  const inner = Array.from({ length: buckets - 1 }, (_, i) => quantile(reference.sketch, (i + 1) / buckets));
  const edges = [lo, ...new Set(inner.filter((q) => q > lo && q < hi)), hi];
  const [r, c] = linearPair(reference, current);
  return { reference: shares(binCounts(r, nr, edges), nr), current: shares(binCounts(c, nc, edges), nc) };
}

/**
 * Categorical shares over the union of both profiles' categories plus `other`, empty ones 0.0001.
 *
 * @example
 * binCategorical(ref.features.c, cur.features.c).reference // [0.5, 0.5, 0.0001]
 */
export function binCategorical(reference: CategoricalProfile, current: CategoricalProfile): Binned {
  const { ref, cur } = categoryCounts(reference, current);
  const total = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);
  return { reference: shares(ref, total(ref)), current: shares(cur, total(cur)) };
}

/** Counts per category over the union of both profiles' kept categories, `other` last. */
function categoryCounts(reference: CategoricalProfile, current: CategoricalProfile) {
  const keys = [...new Set([...Object.keys(reference.values), ...Object.keys(current.values)])].sort();
  const ref = [...keys.map((key) => reference.values[key] ?? 0), reference.other];
  const cur = [...keys.map((key) => current.values[key] ?? 0), current.other];
  return { ref, cur };
}

/**
 * Population stability index Σ (c − r)·ln(c / r) over bin shares.
 *
 * @example
 * psi({ reference: [0.5, 0.5], current: [0.5, 0.5] }) // 0
 */
export function psi(binned: Binned): number {
  let sum = 0;
  binned.reference.forEach((r, i) => {
    const c = binned.current[i] ?? ZERO_SHARE;
    sum += (c - r) * Math.log(c / r);
  });
  return sum;
}

/**
 * Jensen–Shannon distance (square root of the divergence, natural log, as scipy's), in
 * [0, √ln 2]; shares are renormalised first, as scipy does.
 *
 * @example
 * jensenShannon({ reference: [1, 0.0001], current: [0.0001, 1] }) // ≈ 0.83
 */
export function jensenShannon(binned: Binned): number {
  const sr = binned.reference.reduce((s, x) => s + x, 0);
  const sc = binned.current.reduce((s, x) => s + x, 0);
  let divergence = 0;
  binned.reference.forEach((rr, i) => {
    const p = rr / sr;
    const q = (binned.current[i] ?? 0) / sc;
    const m = (p + q) / 2;
    if (p > 0) divergence += (p * Math.log(p / m)) / 2;
    if (q > 0) divergence += (q * Math.log(q / m)) / 2;
  });
  return Math.sqrt(Math.max(0, divergence));
}

/** Walks the union of both sketches' items in order, with each step CDF (share ≤ x) there. */
function walk(r: KllView, c: KllView, visit: (x: number, fr: number, fc: number) => void): void {
  let i = 0;
  let j = 0;
  while (i < r.items.length || j < c.items.length) {
    const xr = r.items[i] ?? Number.POSITIVE_INFINITY;
    const xc = c.items[j] ?? Number.POSITIVE_INFINITY;
    const x = Math.min(xr, xc);
    if (xr === x) i++;
    if (xc === x) j++;
    visit(x, i === 0 ? 0 : (r.cum[i - 1] as number) / r.n, j === 0 ? 0 : (c.cum[j - 1] as number) / c.n);
  }
}

/**
 * Kolmogorov's asymptotic survival function Q(λ) = 2 Σ (−1)^(j−1) e^(−2j²λ²), clamped to [0, 1]
 * (Numerical Recipes' probks: 1 when the series does not converge, i.e. λ near 0).
 *
 * @example
 * kolmogorovQ(1.358) // ≈ 0.05
 */
export function kolmogorovQ(lambda: number): number {
  const a2 = -2 * lambda * lambda;
  let sum = 0;
  let sign = 2;
  let previous = 0;
  for (let j = 1; j <= 100; j++) {
    const term = sign * Math.exp(a2 * j * j);
    sum += term;
    if (Math.abs(term) <= 0.001 * previous || Math.abs(term) <= 1e-8 * sum) return Math.min(1, Math.max(0, sum));
    sign = -sign;
    previous = Math.abs(term);
  }
  return 1;
}

/**
 * Two-sample Kolmogorov–Smirnov from sketches: D = max |F_ref − F_cur| over both sketches'
 * items; p-value from Kolmogorov's distribution with Stephens' correction,
 * λ = (√ne + 0.12 + 0.11/√ne)·D, ne = n·m/(n+m).
 *
 * @example
 * ks(ref.features.x, cur.features.x) // { statistic: 0.03, pValue: 0.4 }
 */
export function ks(reference: NumericProfile, current: NumericProfile): { statistic: number; pValue: number } {
  const r = kllView(reference.sketch);
  const c = kllView(current.sketch);
  let d = 0;
  walk(r, c, (_, fr, fc) => {
    d = Math.max(d, Math.abs(fr - fc));
  });
  const ne = (r.n * c.n) / (r.n + c.n);
  const sqrtNe = Math.sqrt(ne);
  return { statistic: d, pValue: kolmogorovQ((sqrtNe + 0.12 + 0.11 / sqrtNe) * d) };
}

/**
 * Wasserstein-1 distance ∫ |F_ref − F_cur| dx from sketches, divided by the reference's
 * standard deviation (at least 0.001), as Evidently's wasserstein_distance_norm.
 *
 * @example
 * wassersteinNorm(ref.features.x, cur.features.x) // 0.12
 */
export function wassersteinNorm(reference: NumericProfile, current: NumericProfile): number {
  const [r, c] = linearPair(reference, current);
  const xs = [...new Set([...r.xs, ...c.xs])].sort((x, y) => x - y);
  let area = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    const x0 = xs[i] as number;
    const x1 = xs[i + 1] as number;
    const d0 = at(r, x0) - at(c, x0);
    if (!r.linear) {
      area += Math.abs(d0) * (x1 - x0);
      continue;
    }
    // Both CDFs are linear on [x0, x1], so is their difference: integrate |d| exactly.
    const d1 = at(r, x1, true) - at(c, x1, true);
    const width = x1 - x0;
    area +=
      d0 * d1 >= 0
        ? ((Math.abs(d0) + Math.abs(d1)) / 2) * width
        : ((d0 * d0 + d1 * d1) / (2 * Math.abs(d0 - d1))) * width;
  }
  const n = reference.sketch.n;
  const std = n > 1 ? Math.sqrt(reference.m2 / (n - 1)) : 0;
  return area / Math.max(std, 0.001);
}

/**
 * Pearson's chi-square of current counts against the reference's shares (empty ones 0.0001,
 * renormalised) times the current total, as Evidently's chisquare test; df = categories − 1.
 *
 * @example
 * chiSquare(ref.features.c, cur.features.c) // { statistic: 4.2, pValue: 0.12 }
 */
export function chiSquare(
  reference: CategoricalProfile,
  current: CategoricalProfile,
): { statistic: number; pValue: number } {
  return chiSquareCounts(categoryCounts(reference, current));
}

/**
 * Chi-square test of observed `cur` counts against expected from `ref` counts (see chiSquare).
 *
 * @example
 * chiSquareCounts({ ref: [50, 50], cur: [50, 50] }) // { statistic: 0, pValue: 1 }
 */
export function chiSquareCounts(counts: { ref: readonly number[]; cur: readonly number[] }): {
  statistic: number;
  pValue: number;
} {
  // Categories neither side saw carry no information (and would add degrees of freedom).
  const used = counts.ref.map((r, i) => [r, counts.cur[i] ?? 0] as const).filter(([r, c]) => r > 0 || c > 0);
  const refTotal = used.reduce((s, [r]) => s + r, 0);
  const curTotal = used.reduce((s, [, c]) => s + c, 0);
  if (used.length < 2 || refTotal === 0 || curTotal === 0) return { statistic: 0, pValue: 1 };
  const share = used.map(([r]) => (r > 0 ? r / refTotal : ZERO_SHARE));
  const shareTotal = share.reduce((s, x) => s + x, 0);
  let statistic = 0;
  used.forEach(([, observed], i) => {
    const expected = ((share[i] as number) / shareTotal) * curTotal;
    statistic += (observed - expected) ** 2 / expected;
  });
  return { statistic, pValue: chiSquareSf(statistic, used.length - 1) };
}

/**
 * Chi-square survival function P(X ≥ x) with `df` degrees of freedom: the regularised upper
 * incomplete gamma Q(df/2, x/2). Written here (Numerical Recipes' series and continued
 * fraction) rather than taking @stdlib, which is not installed and would pull in dozens of
 * packages for one function.
 *
 * @example
 * chiSquareSf(3.841, 1) // ≈ 0.05
 */
export function chiSquareSf(x: number, df: number): number {
  if (!(x > 0)) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const a = df / 2;
  const z = x / 2;
  return z < a + 1 ? 1 - gammaSeries(a, z) : gammaContinuedFraction(a, z);
}

/** ln Γ(x) by Lanczos' approximation (g = 7, n = 9), for x > 0. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const y = x - 1;
  let sum = c[0] as number;
  for (let i = 1; i < 9; i++) sum += (c[i] as number) / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Regularised lower incomplete gamma P(a, z) by its series (converges fast for z < a + 1). */
function gammaSeries(a: number, z: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 1000; n++) {
    term *= z / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
  }
  return sum * Math.exp(-z + a * Math.log(z) - lnGamma(a));
}

/** Regularised upper incomplete gamma Q(a, z) by Lentz's continued fraction (z ≥ a + 1). */
function gammaContinuedFraction(a: number, z: number): number {
  const tiny = 1e-300;
  let b = z + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-z + a * Math.log(z) - lnGamma(a)) * h;
}
