import { EdgeloopError } from '../errors.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import type { KllSketch } from './schema.ts';

// A hand-written KLL sketch (Karnin, Lang & Liberty 2016) following Apache DataSketches' design:
// there is no maintained KLL library on npm and DataSketches has no JavaScript port. Level h
// holds items of weight 2^h; level capacities are k·(2/3)^depth (at least MIN_WIDTH); when the
// sketch is full, the lowest level over its capacity is compacted (lazy compaction). Items are
// float32 (rounded on insertion), so a level serialises as base64 of little-endian Float32Array.
// Compaction offsets come from a hash of n, the level and its size, never Math.random, so a
// profile built or merged twice is byte-identical, and merge(a, b) equals merge(b, a).

const MIN_WIDTH = 8;

/** A sketch being built or merged: growable level buffers, all sorted except level 0. */
interface Work {
  k: number;
  n: number;
  bufs: Float32Array[];
  sizes: number[];
  total: number;
}

/** A sketch's items sorted ascending with the cumulative weight of items ≤ each. */
export interface KllView {
  readonly n: number;
  readonly items: Float64Array;
  readonly cum: Float64Array;
  /** Whether some items were equal (and merged): a sign of discrete data. */
  readonly ties: boolean;
}

const EMPTY = new Float32Array(0);

const capacityCache = new Map<number, Int32Array>();

/** Level capacities (and their total, last) of a sketch with `numLevels` levels, memoised. */
function capacities(k: number, numLevels: number): Int32Array {
  const key = k * 128 + numLevels;
  let caps = capacityCache.get(key);
  if (!caps) {
    caps = new Int32Array(numLevels + 1);
    for (let h = 0; h < numLevels; h++) {
      caps[h] = Math.max(MIN_WIDTH, Math.ceil(k * (2 / 3) ** (numLevels - h - 1)));
      caps[numLevels] = (caps[numLevels] ?? 0) + (caps[h] ?? 0);
    }
    capacityCache.set(key, caps);
  }
  return caps;
}

// murmur3's finaliser: a cheap deterministic stand-in for the coin DataSketches flips.
function mix(a: number, b: number): number {
  let x = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) ^ b;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function mergeSorted(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x <= y) {
      out[o++] = x;
      i++;
    } else {
      out[o++] = y;
      j++;
    }
  }
  while (i < a.length) out[o++] = a[i++] as number;
  while (j < b.length) out[o++] = b[j++] as number;
  return out;
}

/** Sorts buf[0..size): level 0 is usually compacted a dozen items at a time, where insertion sort beats a native call. */
function sortPrefix(buf: Float32Array, size: number): void {
  if (size > 32) {
    buf.subarray(0, size).sort();
    return;
  }
  for (let i = 1; i < size; i++) {
    const x = buf[i] as number;
    let j = i - 1;
    while (j >= 0 && (buf[j] as number) > x) {
      buf[j + 1] = buf[j] as number;
      j--;
    }
    buf[j + 1] = x;
  }
}

/** Makes room for `extra` more items in level h (doubling, so compactions do not allocate). */
function reserve(w: Work, h: number, extra: number): Float32Array {
  const buf = w.bufs[h] ?? EMPTY;
  const size = w.sizes[h] ?? 0;
  if (buf.length >= size + extra) return buf;
  const grown = new Float32Array(Math.max(2 * buf.length, size + extra, 16));
  grown.set(buf.subarray(0, size));
  w.bufs[h] = grown;
  return grown;
}

/** Halves level h: keeps every other item (offset from the hash) at double weight in level h+1. */
function compact(w: Work, h: number): void {
  if (h + 1 === w.bufs.length) {
    w.bufs.push(EMPTY);
    w.sizes.push(0);
  }
  const buf = w.bufs[h] ?? EMPTY;
  let size = w.sizes[h] ?? 0;
  const hash = mix(mix(w.n % 0x1_0000_0000, Math.floor(w.n / 0x1_0000_0000)), h * 65_599 + size);
  // An odd item stays behind; the hash picks which, so neither end of the range is favoured.
  let leftover: number | undefined;
  if (size % 2 === 1) {
    const r = hash % size;
    leftover = buf[r];
    buf.copyWithin(r, r + 1, size);
    size--;
  }
  if (h === 0) sortPrefix(buf, size);
  const offset = hash >>> 31;
  const half = size / 2;
  for (let i = 0; i < half; i++) buf[i] = buf[2 * i + offset] as number;
  // Merge buf[0..half) into level h+1 from the back, in place.
  const up = reserve(w, h + 1, half);
  let i = (w.sizes[h + 1] ?? 0) - 1;
  let j = half - 1;
  let o = i + half;
  while (j >= 0) {
    const x = buf[j] as number;
    if (i >= 0 && (up[i] as number) > x) up[o--] = up[i--] as number;
    else {
      up[o--] = x;
      j--;
    }
  }
  w.sizes[h + 1] = (w.sizes[h + 1] ?? 0) + half;
  w.sizes[h] = 0;
  if (leftover !== undefined) {
    buf[0] = leftover;
    w.sizes[h] = 1;
  }
  w.total -= half;
}

function compress(w: Work): void {
  for (;;) {
    const caps = capacities(w.k, w.bufs.length);
    if (w.total < (caps[w.bufs.length] as number)) return;
    let h = 0;
    while ((w.sizes[h] ?? 0) < (caps[h] as number)) h++;
    compact(w, h);
  }
}

function update(w: Work, values: ArrayLike<number>): void {
  let i = 0;
  while (i < values.length) {
    const take = Math.min((capacities(w.k, w.bufs.length)[w.bufs.length] as number) - w.total, values.length - i);
    const buf = reserve(w, 0, take);
    let size0 = w.sizes[0] ?? 0;
    // −0 becomes 0 (adding 0 after rounding): sorted merges cannot order ±0, and must be symmetric.
    for (let j = 0; j < take; j++) buf[size0++] = Math.fround(values[i++] as number) + 0;
    w.sizes[0] = size0;
    w.total += take;
    w.n += take;
    compress(w);
  }
}

function decodeLevel(text: string): Float32Array {
  const bytes = decodeBase64(text);
  if (bytes.length % 4 !== 0) throw new EdgeloopError('INVALID_PROFILE', 'a KLL level must hold whole float32 items');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true) + 0;
  return out;
}

function encodeLevel(items: Float32Array): string {
  const bytes = new Uint8Array(items.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < items.length; i++) view.setFloat32(i * 4, items[i] as number, true);
  return encodeBase64(bytes);
}

const decoded = new WeakMap<KllSketch, Float32Array[]>();

/**
 * The sketch's levels as float32 arrays (cached per sketch object, so treat sketches as immutable).
 *
 * @example
 * kllLevels(kllFromValues([1, 2, 3])) // [Float32Array [1, 2, 3]]
 */
export function kllLevels(sketch: KllSketch): Float32Array[] {
  let levels = decoded.get(sketch);
  if (!levels) {
    levels = sketch.levels.map(decodeLevel);
    decoded.set(sketch, levels);
  }
  return levels;
}

function toWork(k: number, n: number, levels: Float32Array[]): Work {
  const bufs = levels.length === 0 ? [EMPTY] : levels;
  const sizes = bufs.map((level) => level.length);
  return { k, n, bufs, sizes, total: sizes.reduce((sum, size) => sum + size, 0) };
}

function toSketch(w: Work): KllSketch {
  const levels = w.n === 0 ? [] : w.bufs.map((buf, h) => buf.slice(0, w.sizes[h]));
  levels[0]?.sort();
  const sketch = { k: w.k, n: w.n, levels: levels.map(encodeLevel) };
  decoded.set(sketch, levels);
  return sketch;
}

/**
 * An empty sketch of size k (8 to 1024; larger k, smaller error).
 *
 * @example
 * emptyKll(200) // { k: 200, n: 0, levels: [] }
 */
export function emptyKll(k: number): KllSketch {
  if (!Number.isInteger(k) || k < MIN_WIDTH || k > 1024) {
    throw new EdgeloopError('INVALID_PROFILE', `KLL k must be an integer from ${MIN_WIDTH} to 1024, got ${k}`);
  }
  return { k, n: 0, levels: [] };
}

/**
 * Adds finite values to a sketch (a new sketch is returned). Values are rounded to float32.
 *
 * @example
 * kllUpdate(emptyKll(200), Float64Array.of(1, 2, 3)).n // 3
 */
export function kllUpdate(sketch: KllSketch, values: ArrayLike<number>): KllSketch {
  const w = toWork(
    sketch.k,
    sketch.n,
    kllLevels(sketch).map((level) => level.slice()),
  );
  update(w, values);
  return toSketch(w);
}

/**
 * A sketch of finite values (rounded to float32); k defaults to 200.
 *
 * @example
 * quantile(kllFromValues([1, 2, 3, 4]), 0.5) // 2
 */
export function kllFromValues(values: ArrayLike<number>, k = 200): KllSketch {
  return kllUpdate(emptyKll(k), values);
}

/**
 * Merges two sketches; the result has the smaller k. merge(a, b) equals merge(b, a).
 *
 * @example
 * kllMerge(kllFromValues([1, 2]), kllFromValues([3])).n // 3
 */
export function kllMerge(a: KllSketch, b: KllSketch): KllSketch {
  const la = kllLevels(a);
  const lb = kllLevels(b);
  const numLevels = Math.max(la.length, lb.length);
  const levels: Float32Array[] = [];
  for (let h = 0; h < numLevels; h++) levels.push(mergeSorted(la[h] ?? EMPTY, lb[h] ?? EMPTY));
  const w = toWork(Math.min(a.k, b.k), a.n + b.n, levels);
  if (w.n > 0) compress(w);
  return toSketch(w);
}

const views = new WeakMap<KllSketch, KllView>();

/**
 * The sketch's items in order with cumulative weights (cached per sketch object).
 *
 * @example
 * kllView(kllFromValues([2, 1, 2])) // { n: 3, items: [1, 2], cum: [1, 3], ties: true }
 */
export function kllView(sketch: KllSketch): KllView {
  const cached = views.get(sketch);
  if (cached) return cached;
  const levels = kllLevels(sketch);
  const total = levels.reduce((sum, level) => sum + level.length, 0);
  const items = new Float64Array(total);
  const weights = new Float64Array(total);
  let o = 0;
  levels.forEach((level, h) => {
    for (const x of level) {
      items[o] = x;
      weights[o++] = 2 ** h;
    }
  });
  const order = Array.from({ length: total }, (_, i) => i).sort((i, j) => (items[i] as number) - (items[j] as number));
  const outItems: number[] = [];
  const cum: number[] = [];
  let acc = 0;
  for (const i of order) {
    acc += weights[i] as number;
    if (outItems.length > 0 && outItems[outItems.length - 1] === items[i]) cum[cum.length - 1] = acc;
    else {
      outItems.push(items[i] as number);
      cum.push(acc);
    }
  }
  const view = {
    n: sketch.n,
    items: Float64Array.from(outItems),
    cum: Float64Array.from(cum),
    ties: outItems.length < total,
  };
  views.set(sketch, view);
  return view;
}

/**
 * Weight of the items ≤ x (or < x when `strict`), out of view.n.
 *
 * @example
 * cdfWeight(kllView(kllFromValues([1, 2, 3])), 2) // 2
 */
export function cdfWeight(view: KllView, x: number, strict = false): number {
  const i = upperBound(view.items, x, strict);
  return i === 0 ? 0 : (view.cum[i - 1] as number);
}

/** Index of the first item > x (≥ x when `strict`). */
function upperBound(items: Float64Array, x: number, strict = false): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const item = items[mid] as number;
    if (strict ? item < x : item <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Normalised rank of x: the estimated share of values ≤ x (0 for an empty sketch).
 *
 * @example
 * rank(kllFromValues([1, 2, 3, 4]), 2) // 0.5
 */
export function rank(sketch: KllSketch, x: number): number {
  return sketch.n === 0 ? 0 : cdfWeight(kllView(sketch), x) / sketch.n;
}

/**
 * The smallest item whose normalised rank is at least q (q in [0, 1]); throws on an empty sketch.
 *
 * @example
 * quantile(kllFromValues([1, 2, 3, 4]), 0.75) // 3
 */
export function quantile(sketch: KllSketch, q: number): number {
  if (sketch.n === 0) throw new EdgeloopError('INVALID_PROFILE', 'quantile of an empty sketch');
  if (!(q >= 0 && q <= 1)) throw new EdgeloopError('INVALID_PROFILE', `quantile q must be in [0, 1], got ${q}`);
  const { items, cum } = kllView(sketch);
  const target = q * sketch.n;
  let lo = 0;
  let hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cum[mid] as number) >= target) hi = mid;
    else lo = mid + 1;
  }
  return items[lo] as number;
}
