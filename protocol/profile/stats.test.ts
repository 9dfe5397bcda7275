import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.ts';
import { buildProfile } from './build.ts';
import { mergeProfiles } from './merge.ts';
import type { NumericProfile, Profile, ProfileRow } from './schema.ts';
import {
  binCategorical,
  binDeciles,
  chiSquareCounts,
  chiSquareSf,
  jensenShannon,
  kolmogorovQ,
  ks,
  psi,
  wassersteinNorm,
} from './stats.ts';

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function studentT3(random: () => number): number {
  const chi2 = normal(random) ** 2 + normal(random) ** 2 + normal(random) ** 2;
  return normal(random) / Math.sqrt(chi2 / 3);
}

function poisson(random: () => number, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

// Exact statistics on the raw data, by the same rules as stats.ts (and Evidently/scipy).
const sorted = (xs: readonly number[]) => Float64Array.from(xs).sort();
function countLe(xs: Float64Array, x: number, strict = false): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? (xs[mid] as number) < x : (xs[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function grid(r: Float64Array, c: Float64Array): number[] {
  return [...new Set([...r, ...c])].sort((x, y) => x - y);
}
function exactKs(r: Float64Array, c: Float64Array): number {
  return Math.max(...grid(r, c).map((x) => Math.abs(countLe(r, x) / r.length - countLe(c, x) / c.length)));
}
function exactWasserstein(r: Float64Array, c: Float64Array): number {
  const xs = grid(r, c);
  let area = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    const x = xs[i] as number;
    area += Math.abs(countLe(r, x) / r.length - countLe(c, x) / c.length) * ((xs[i + 1] as number) - x);
  }
  const mean = r.reduce((s, x) => s + x, 0) / r.length;
  const std = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / (r.length - 1));
  return area / Math.max(std, 0.001);
}

/** The reference's deciles (smallest value of rank ≥ q·n, as the sketch's quantile), merged when equal. */
function exactDeciles(r: Float64Array, c: Float64Array) {
  const lo = Math.min(r[0] as number, c[0] as number);
  const hi = Math.max(r[r.length - 1] as number, c[c.length - 1] as number);
  const inner = Array.from({ length: 9 }, (_, i) => r[Math.max(0, Math.ceil(((i + 1) / 10) * r.length) - 1)] as number);
  const edges = [lo, ...new Set(inner.filter((q) => q > lo && q < hi)), hi];
  const shares = (xs: Float64Array) =>
    edges.slice(0, -1).map((e, i) => {
      const upper = i === edges.length - 2 ? xs.length : countLe(xs, edges[i + 1] as number, true);
      const count = upper - countLe(xs, e, true);
      return count > 0 ? count / xs.length : 0.0001;
    });
  return { reference: shares(r), current: shares(c) };
}

const schema = { features: [{ name: 'x', kind: 'numeric' as const }] };

/** 20,000 rows built as 10 profiles and merged, as a fleet of clients would send them. */
function mergedProfile(values: readonly (number | null)[]): Profile {
  const rows: ProfileRow[] = values.map((x) => ({ x }));
  const parts = Array.from({ length: 10 }, (_, i) => buildProfile(rows.slice(i * 2000, (i + 1) * 2000), schema));
  return parts.reduce(mergeProfiles);
}

const SIZE = 20_000;
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const distributions: [string, (random: () => number, shifted: boolean) => number | null][] = [
  ['log-normal', (random, shifted) => Math.exp(normal(random) + (shifted ? 0.15 : 0))],
  ['Student-t, 3 dof', (random, shifted) => studentT3(random) + (shifted ? 0.2 : 0)],
  ['Poisson', (random, shifted) => poisson(random, shifted ? 4.4 : 4)],
  ['normal with 10% missing', (random, shifted) => (random() < 0.1 ? null : normal(random) + (shifted ? 0.1 : 0))],
];

describe('drift statistics from merged sketches', () => {
  // A sketch's error is random: like KLL's own bound, the claim is for most draws. Each
  // distribution is drawn with 8 seeds; each statistic must be within 0.02 of the exact value
  // in at least 7 of them (observed: PSI and KS in all, Wasserstein worst 0.0212 on the
  // normal with missing values).
  it.each(distributions)('are within 0.02 of the exact PSI, KS and Wasserstein: %s', (_, draw) => {
    const misses = { ks: 0, wasserstein: 0, psi: 0 };
    for (const seed of SEEDS) {
      const random = seededRandom(seed);
      const refValues = Array.from({ length: SIZE }, () => draw(random, false));
      const curValues = Array.from({ length: SIZE }, () => draw(random, true));
      const ref = mergedProfile(refValues).features.x as NumericProfile;
      const cur = mergedProfile(curValues).features.x as NumericProfile;
      const r = sorted(refValues.filter((x) => x !== null));
      const c = sorted(curValues.filter((x) => x !== null));
      expect(ref.sketch.n).toBe(r.length);
      const exact = { ks: exactKs(r, c), wasserstein: exactWasserstein(r, c), psi: psi(exactDeciles(r, c)) };
      const sketched = {
        ks: ks(ref, cur).statistic,
        wasserstein: wassersteinNorm(ref, cur),
        psi: psi(binDeciles(ref, cur)),
      };
      // A shift that matters: the statistics are well away from 0.
      expect(exact.ks).toBeGreaterThan(0.03);
      for (const key of Object.keys(misses) as (keyof typeof misses)[]) {
        if (Math.abs(sketched[key] - exact[key]) >= 0.02) misses[key]++;
      }
    }
    expect(misses.ks).toBeLessThanOrEqual(1);
    expect(misses.wasserstein).toBeLessThanOrEqual(1);
    expect(misses.psi).toBeLessThanOrEqual(1);
  });

  it("bins PSI on the reference's deciles: ten equal reference shares", () => {
    const random = seededRandom(3);
    const values = Array.from({ length: SIZE }, () => normal(random));
    const profile = mergedProfile(values).features.x as NumericProfile;
    const binned = binDeciles(profile, profile);
    expect(binned.reference).toHaveLength(10);
    for (const share of binned.reference) expect(share).toBeCloseTo(0.1, 2);
    expect(psi(binned)).toBe(0);
  });
});

describe('p-values', () => {
  it('chi-square survival matches tables', () => {
    expect(chiSquareSf(3.841, 1)).toBeCloseTo(0.05, 4);
    expect(chiSquareSf(18.307, 10)).toBeCloseTo(0.05, 4);
    expect(chiSquareSf(6.635, 1)).toBeCloseTo(0.01, 4);
    expect(chiSquareSf(2, 2)).toBeCloseTo(Math.exp(-1), 10);
    expect(chiSquareSf(0, 3)).toBe(1);
    expect(chiSquareSf(1000, 3)).toBeLessThan(1e-100);
  });

  it('Kolmogorov distribution matches its critical values', () => {
    expect(kolmogorovQ(1.358)).toBeCloseTo(0.05, 3);
    expect(kolmogorovQ(1.628)).toBeCloseTo(0.01, 3);
    expect(kolmogorovQ(0.5)).toBeCloseTo(0.9639, 3);
    expect(kolmogorovQ(0)).toBe(1);
  });

  it('KS of identical samples has D = 0 and p = 1; of disjoint ones D = 1 and p ≈ 0', () => {
    const profile = (xs: number[]) =>
      buildProfile(
        xs.map((x) => ({ x })),
        schema,
      ).features.x as NumericProfile;
    const a = profile([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ks(a, a)).toEqual({ statistic: 0, pValue: 1 });
    const far = ks(
      profile(Array.from({ length: 100 }, (_, i) => i)),
      profile(Array.from({ length: 100 }, (_, i) => 500 + i)),
    );
    expect(far.statistic).toBe(1);
    expect(far.pValue).toBeLessThan(1e-10);
  });

  it("chi-square of counts follows Evidently's zero handling", () => {
    expect(chiSquareCounts({ ref: [50, 50], cur: [50, 50] })).toEqual({ statistic: 0, pValue: 1 });
    // Expected 30/30 from the reference's shares; observed 40/20: χ² = 100/30 + 100/30.
    const result = chiSquareCounts({ ref: [100, 100, 0], cur: [40, 20, 0] });
    expect(result.statistic).toBeCloseTo(20 / 3, 10);
    expect(result.pValue).toBeCloseTo(chiSquareSf(20 / 3, 1), 12);
    // A category the reference never saw is expected at 0.0001 of the share, so it weighs heavily.
    expect(chiSquareCounts({ ref: [10, 0], cur: [10, 1] }).pValue).toBeLessThan(1e-10);
  });
});

describe('binned distances', () => {
  it('PSI and Jensen–Shannon are 0 for equal shares and bounded for disjoint ones', () => {
    expect(psi({ reference: [0.25, 0.75], current: [0.25, 0.75] })).toBe(0);
    expect(jensenShannon({ reference: [0.25, 0.75], current: [0.25, 0.75] })).toBe(0);
    const disjoint = jensenShannon({ reference: [1, 0], current: [0, 1] });
    expect(disjoint).toBeCloseTo(Math.sqrt(Math.LN2), 12);
    // scipy.spatial.distance.jensenshannon([0.1, 0.4, 0.5], [0.3, 0.3, 0.4]) = 0.18036…
    expect(jensenShannon({ reference: [0.1, 0.4, 0.5], current: [0.3, 0.3, 0.4] })).toBeCloseTo(0.180_36, 4);
  });

  it('categorical shares cover the union of categories plus other, empty ones 0.0001', () => {
    const cat = { features: [{ name: 'c', kind: 'categorical' as const }] };
    const r = buildProfile(
      ['a', 'a', 'b', 'b'].map((c) => ({ c })),
      cat,
    ).features.c;
    const c = buildProfile(
      ['a', 'c', null].map((c) => ({ c })),
      cat,
    ).features.c;
    if (r?.kind !== 'categorical' || c?.kind !== 'categorical') throw new Error('categorical expected');
    expect(binCategorical(r, c)).toEqual({
      reference: [0.5, 0.5, 0.0001, 0.0001],
      current: [0.5, 0.0001, 0.5, 0.0001],
    });
  });
});
