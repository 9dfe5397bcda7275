import { EdgeloopError } from '../errors.ts';
import { emptyKll, kllFromValues, kllMerge } from './kll.ts';
import type { NumericProfile } from './schema.ts';

/**
 * Profiles one numeric column: finite values go to min/max, mean/m2 (Welford) and the KLL
 * sketch; NaN and ±Infinity are counted apart; null/undefined are missing. A string (or any
 * other type) throws INVALID_PROFILE, naming `feature`.
 *
 * @example
 * numericProfile([1, 2, null, Number.NaN], 200).mean // 1.5
 */
export function numericProfile(values: ArrayLike<unknown>, k: number, feature = 'value'): NumericProfile {
  const finite = new Float64Array(values.length);
  let n = 0;
  let missing = 0;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null || x === undefined) missing++;
    else if (typeof x !== 'number') {
      throw new EdgeloopError('INVALID_PROFILE', `numeric feature ${feature} got a ${typeof x} value`);
    } else if (Number.isNaN(x)) nan++;
    else if (x === Number.POSITIVE_INFINITY) posInf++;
    else if (x === Number.NEGATIVE_INFINITY) negInf++;
    else {
      finite[n++] = x;
      if (x < min) min = x;
      if (x > max) max = x;
      const delta = x - mean;
      mean += delta / n;
      m2 += delta * (x - mean);
    }
  }
  return {
    kind: 'numeric',
    count: values.length,
    missing,
    nan,
    posInf,
    negInf,
    min: n > 0 ? min : null,
    max: n > 0 ? max : null,
    mean,
    m2: Math.max(0, m2),
    sketch: n > 0 ? kllFromValues(finite.subarray(0, n), k) : emptyKll(k),
  };
}

/**
 * Merges two numeric profiles; mean/m2 by Chan et al.'s parallel formula, in an order fixed by
 * the operands' values so that merge(a, b) and merge(b, a) are bit-identical.
 *
 * @example
 * mergeNumeric(numericProfile([1], 200), numericProfile([3], 200)).mean // 2
 */
export function mergeNumeric(a: NumericProfile, b: NumericProfile): NumericProfile {
  const [x, y] = a.sketch.n > b.sketch.n || (a.sketch.n === b.sketch.n && a.mean >= b.mean) ? [a, b] : [b, a];
  const nx = x.sketch.n;
  const ny = y.sketch.n;
  const n = nx + ny;
  const delta = y.mean - x.mean;
  return {
    kind: 'numeric',
    count: a.count + b.count,
    missing: a.missing + b.missing,
    nan: a.nan + b.nan,
    posInf: a.posInf + b.posInf,
    negInf: a.negInf + b.negInf,
    min: a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min),
    max: a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max),
    mean: n === 0 ? 0 : x.mean + (delta * ny) / n,
    m2: n === 0 ? 0 : Math.max(0, x.m2 + y.m2 + ((delta * delta * nx) / n) * ny),
    sketch: kllMerge(a.sketch, b.sketch),
  };
}
