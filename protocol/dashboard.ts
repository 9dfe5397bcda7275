import * as v from 'valibot';
import { Scope } from './keys.ts';
import { ModelName } from './names.ts';
import { rank } from './profile/kll.ts';
import type { CategoricalProfile, NumericProfile, Profile } from './profile/schema.ts';

// What the dashboard (/dashboard) reads beyond the registry and drift reports: who the key
// is, a version's drift alerts, and its reference and current distributions side by side.

const Ms = v.pipe(v.number(), v.integer(), v.minValue(0));
const Span = v.object({ from: Ms, to: Ms });

/** `GET /v1/keys/me`: the key behind the request and its scopes (any valid key may ask). */
export const WhoAmI = v.object({ v: v.literal(1), keyId: v.string(), scopes: v.array(Scope) });
export type WhoAmI = v.InferOutput<typeof WhoAmI>;

/** One drifted window of a version, as recorded when it drifted. */
export const VersionAlert = v.object({
  window: Span,
  drifted: v.array(v.string()),
  driftedShare: v.number(),
  datasetDrifted: v.boolean(),
  createdAt: Ms,
  acknowledgedAt: v.nullable(Ms),
});
export type VersionAlert = v.InferOutput<typeof VersionAlert>;

/** `GET /v1/models/{model}/versions/{version}/alerts`: newest window first. */
export const AlertList = v.object({
  v: v.literal(1),
  model: ModelName,
  version: v.number(),
  alerts: v.array(VersionAlert),
});
export type AlertList = v.InferOutput<typeof AlertList>;

/** A numeric feature's histogram: `edges` has one more entry than each share list. */
export const NumericDistribution = v.object({
  name: v.string(),
  kind: v.literal('numeric'),
  edges: v.array(v.number()),
  reference: v.array(v.number()),
  current: v.array(v.number()),
});

/** A categorical feature's shares over the categories of both profiles, `other` last. */
export const CategoricalDistribution = v.object({
  name: v.string(),
  kind: v.literal('categorical'),
  categories: v.array(v.string()),
  reference: v.array(v.number()),
  current: v.array(v.number()),
});

export const FeatureDistribution = v.variant('kind', [NumericDistribution, CategoricalDistribution]);
export type FeatureDistribution = v.InferOutput<typeof FeatureDistribution>;

/** `GET /v1/models/{model}/versions/{version}/drift/distributions?from=&to=`. Shares sum to 1 (0 when empty). */
export const DistributionComparison = v.object({
  v: v.literal(1),
  model: ModelName,
  version: v.number(),
  window: Span,
  reference: v.object({ count: v.number() }),
  current: v.object({ count: v.number() }),
  features: v.array(FeatureDistribution),
});
export type DistributionComparison = v.InferOutput<typeof DistributionComparison>;

/** Equal-width bins of a numeric histogram: few enough to read, enough to show a shift. */
export const HISTOGRAM_BINS = 20;

function numericShares(p: NumericProfile | undefined, edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  if (!p || p.sketch.n === 0) return new Array<number>(bins).fill(0);
  // The sketch's CDF at each inner edge; the outer ones hold everything below and above.
  const cdf = edges.map((e, i) => (i === 0 ? 0 : i === bins ? 1 : rank(p.sketch, e)));
  return cdf.slice(1).map((f, i) => Math.max(0, f - (cdf[i] as number)));
}

function numericDistribution(name: string, r: NumericProfile, c: NumericProfile | undefined): FeatureDistribution {
  const lo = Math.min(r.min ?? 0, c?.min ?? r.min ?? 0);
  const hi = Math.max(r.max ?? 0, c?.max ?? r.max ?? 0);
  const bins = hi > lo ? HISTOGRAM_BINS : 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
  return { name, kind: 'numeric', edges, reference: numericShares(r, edges), current: numericShares(c, edges) };
}

function categoricalDistribution(
  name: string,
  r: CategoricalProfile,
  c: CategoricalProfile | undefined,
): FeatureDistribution {
  const categories = [...new Set([...Object.keys(r.values), ...Object.keys(c?.values ?? {})])].sort();
  const shares = (p: CategoricalProfile | undefined) => {
    const counts = [...categories.map((k) => p?.values[k] ?? 0), p?.other ?? 0];
    const total = counts.reduce((s, x) => s + x, 0);
    return counts.map((x) => (total > 0 ? x / total : 0));
  };
  return { name, kind: 'categorical', categories: [...categories, 'other'], reference: shares(r), current: shares(c) };
}

/**
 * Each reference feature's distribution beside the current one: numeric features as shares of
 * equal-width bins over both ranges (from the KLL sketches' CDFs), categorical ones as shares
 * per category. A feature the current profile lacks has all-zero current shares.
 *
 * @example
 * compareDistributions(reference, current)[0] // { name: 'x', kind: 'numeric', edges: [-3, …], reference: [0.01, …], current: [0, …] }
 */
export function compareDistributions(reference: Profile, current: Profile | null): FeatureDistribution[] {
  return Object.keys(reference.features)
    .sort()
    .flatMap((name) => {
      const r = reference.features[name];
      const c = current?.features[name];
      if (r?.kind === 'numeric') return [numericDistribution(name, r, c?.kind === 'numeric' ? c : undefined)];
      if (r?.kind === 'categorical') {
        return [categoricalDistribution(name, r, c?.kind === 'categorical' ? c : undefined)];
      }
      return [];
    });
}
