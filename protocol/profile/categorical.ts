import type { CategoricalProfile } from './schema.ts';

const MAX_CATEGORY_LENGTH = 256;
// valibot's record drops these keys when parsing, so they could never be stored: count them in `other`.
const UNSTORABLE = new Set(['__proto__', 'prototype', 'constructor']);

/** Keeps the topN most frequent values (ties by value, so it is deterministic) and sums the rest. */
function trim(counts: Map<string, number>, topN: number, other: number, count: number, missing: number) {
  const entries = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  let rest = other;
  for (const [, c] of entries.slice(topN)) rest += c;
  const profile: CategoricalProfile = {
    kind: 'categorical',
    count,
    missing,
    topN,
    values: Object.fromEntries(entries.slice(0, topN)),
    other: rest,
  };
  return profile;
}

/**
 * Profiles one categorical column: strings counted as they are (cut to 256 characters), numbers
 * stringified, null/undefined missing; the top `topN` values kept, the rest summed in `other`.
 *
 * @example
 * categoricalProfile(['a', 'b', 'a', null, 1], 1).values // { a: 2 } (other: 2, missing: 1)
 */
export function categoricalProfile(values: ArrayLike<unknown>, topN: number): CategoricalProfile {
  const counts = new Map<string, number>();
  let missing = 0;
  let other = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null || x === undefined) {
      missing++;
      continue;
    }
    const key = String(x).slice(0, MAX_CATEGORY_LENGTH);
    if (UNSTORABLE.has(key)) other++;
    else counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return trim(counts, topN, other, values.length, missing);
}

/**
 * Merges two categorical profiles: counts summed over the union, re-trimmed to the smaller topN.
 *
 * @example
 * mergeCategorical(categoricalProfile(['a'], 5), categoricalProfile(['a', 'b'], 5)).values // { a: 2, b: 1 }
 */
export function mergeCategorical(a: CategoricalProfile, b: CategoricalProfile): CategoricalProfile {
  const counts = new Map(Object.entries(a.values));
  for (const [key, c] of Object.entries(b.values)) counts.set(key, (counts.get(key) ?? 0) + c);
  return trim(counts, Math.min(a.topN, b.topN), a.other + b.other, a.count + b.count, a.missing + b.missing);
}

/**
 * Non-missing values a categorical profile counts (kept values plus `other`).
 *
 * @example
 * categoricalTotal(categoricalProfile(['a', null], 5)) // 1
 */
export function categoricalTotal(p: CategoricalProfile): number {
  let total = p.other;
  for (const c of Object.values(p.values)) total += c;
  return total;
}
