import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../errors.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { emptyKll, kllFromValues, kllLevels, kllMerge, kllUpdate, kllView, quantile, rank } from './kll.ts';
import { KllSketch } from './schema.ts';

const range = (n: number, from = 0) => Float64Array.from({ length: n }, (_, i) => from + i);

describe('base64', () => {
  it('round-trips every tail length and rejects bad input', () => {
    for (let n = 0; n < 10; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 200) % 256);
      expect(decodeBase64(encodeBase64(bytes))).toEqual(bytes);
    }
    expect(encodeBase64(new Uint8Array([1, 2, 3, 255]))).toBe('AQID/w==');
    expect(() => decodeBase64('AQI')).toThrow(EdgeloopError);
    expect(() => decodeBase64('A*ID')).toThrow(expect.objectContaining({ code: 'INVALID_PROFILE' }));
  });
});

describe('KLL sketch', () => {
  it('is exact while it holds every value', () => {
    const sketch = kllFromValues([3, 1, 2, 4], 200);
    expect(sketch.n).toBe(4);
    expect(rank(sketch, 2)).toBe(0.5);
    expect(rank(sketch, 0)).toBe(0);
    expect(quantile(sketch, 0.75)).toBe(3);
    expect(quantile(sketch, 0)).toBe(1);
    expect(quantile(sketch, 1)).toBe(4);
    expect(kllView(sketch)).toMatchObject({ n: 4, items: Float64Array.of(1, 2, 3, 4) });
  });

  it('rounds values to float32 on insertion', () => {
    expect(quantile(kllFromValues([0.1]), 0.5)).toBe(Math.fround(0.1));
  });

  it('keeps total weight equal to n through compactions, updates and merges', () => {
    const a = kllUpdate(kllFromValues(range(10_000), 64), range(5_000, 10_000));
    const b = kllFromValues(range(777), 200);
    const merged = kllMerge(a, b);
    for (const s of [a, b, merged]) {
      const weight = kllLevels(s).reduce((sum, level, h) => sum + level.length * 2 ** h, 0);
      expect(weight).toBe(s.n);
      expect(v.safeParse(KllSketch, s).success).toBe(true);
    }
    expect(merged.k).toBe(64);
    expect(merged.n).toBe(15_777);
    expect(Math.abs(rank(merged, 7_500) - 8_278 / 15_777)).toBeLessThan(0.03);
  });

  it('is deterministic, and merge(a, b) equals merge(b, a) exactly', () => {
    const a = kllFromValues(range(50_000).map((x) => Math.sin(x) * 1000));
    const b = kllFromValues(range(30_000).map((x) => Math.cos(x) * 500));
    expect(kllFromValues(range(50_000).map((x) => Math.sin(x) * 1000))).toEqual(a);
    expect(kllMerge(a, b)).toEqual(kllMerge(b, a));
    expect(kllMerge(a, emptyKll(200))).toEqual(kllMerge(emptyKll(200), a));
  });

  it('stays small: about 3 KB of JSON for 10^6 values at k = 200', () => {
    const sketch = kllFromValues(range(1_000_000), 200);
    expect(JSON.stringify(sketch).length).toBeLessThan(4_000);
    expect(Math.abs(quantile(sketch, 0.5) - 500_000)).toBeLessThan(16_500);
  });

  it('rejects a bad k, an empty quantile and q outside [0, 1]', () => {
    expect(() => emptyKll(4)).toThrow(expect.objectContaining({ code: 'INVALID_PROFILE' }));
    expect(() => kllFromValues([1], 2000)).toThrow(expect.objectContaining({ code: 'INVALID_PROFILE' }));
    expect(() => quantile(emptyKll(200), 0.5)).toThrow(expect.objectContaining({ code: 'INVALID_PROFILE' }));
    expect(() => quantile(kllFromValues([1]), 1.5)).toThrow(expect.objectContaining({ code: 'INVALID_PROFILE' }));
    expect(rank(emptyKll(200), 1)).toBe(0);
  });

  it('schema rejects levels whose weights do not add up to n, unsorted or non-finite items, bad base64', () => {
    const good = kllFromValues([1, 2, 3]);
    const level = (xs: number[]) => encodeBase64(new Uint8Array(Float32Array.from(xs).buffer));
    expect(v.safeParse(KllSketch, good).success).toBe(true);
    expect(v.safeParse(KllSketch, { ...good, n: 4 }).success).toBe(false);
    expect(v.safeParse(KllSketch, { k: 200, n: 3, levels: [level([3, 1, 2])] }).success).toBe(false);
    expect(v.safeParse(KllSketch, { k: 200, n: 1, levels: [level([Number.NaN])] }).success).toBe(false);
    expect(v.safeParse(KllSketch, { k: 200, n: 1, levels: ['AQI'] }).success).toBe(false);
    expect(v.safeParse(KllSketch, { k: 200, n: 5, levels: [level([1]), level([2, 3])] }).success).toBe(true);
  });
});
