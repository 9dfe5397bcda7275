import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { buildProfile } from './build.ts';
import { mergeProfiles } from './merge.ts';
import { driftReport } from './report.ts';
import { CALIBRATION_BINS, type CategoricalProfile, type NumericProfile, Profile, type ProfileRow } from './schema.ts';

const schema = {
  features: [
    { name: 'x', kind: 'numeric' as const },
    { name: 'y', kind: 'numeric' as const },
    { name: 'c', kind: 'categorical' as const },
  ],
};
const numeric = (p: Profile, name: string) => p.features[name] as NumericProfile;
const roundTrip = (p: Profile) => v.parse(Profile, JSON.parse(JSON.stringify(p)));

describe('buildProfile', () => {
  it('counts finite, missing and non-finite values and keeps Welford moments', () => {
    const rows: ProfileRow[] = [
      { x: 1, c: 'a' },
      { x: 2, c: 7 },
      { x: null, c: null },
      { x: Number.NaN, c: 'a' },
      { x: Number.POSITIVE_INFINITY },
      { x: Number.NEGATIVE_INFINITY },
      { x: 6, y: undefined, c: 'b' },
    ];
    const p = buildProfile(rows, schema, { topN: 2 });
    expect(p.count).toBe(7);
    expect(p.features.x).toMatchObject({ count: 7, missing: 1, nan: 1, posInf: 1, negInf: 1, min: 1, max: 6, mean: 3 });
    expect(numeric(p, 'x').m2).toBeCloseTo(14, 12);
    expect(numeric(p, 'x').sketch.n).toBe(3);
    expect(p.features.y).toMatchObject({ count: 7, missing: 7, min: null, max: null, mean: 0, m2: 0 });
    // Ties by count are broken by value: 'a' (2), then '7' before 'b'.
    expect(p.features.c).toEqual({
      kind: 'categorical',
      count: 7,
      missing: 3,
      topN: 2,
      values: { a: 2, 7: 1 },
      other: 1,
    });
    expect(p.outputs).toBeUndefined();
    expect(p.feedback).toBeUndefined();
    expect(roundTrip(p)).toEqual(p);
  });

  it('lists every schema feature even with no rows', () => {
    const p = buildProfile([], schema);
    expect(Object.keys(p.features).sort()).toEqual(['c', 'x', 'y']);
    expect(roundTrip(p)).toEqual(p);
  });

  it('profiles class outputs, score outputs and feedback', () => {
    const p = buildProfile([{}, {}, {}], schema, {
      outputs: [
        [0.1, 0.7, 0.2],
        [0.5, 0.3, 0.2],
        [0.1, 0.2, 0.7],
      ],
      feedback: [
        { actual: 1, predicted: 1, confidence: 0.7 },
        { actual: 2, predicted: 0, confidence: 1 },
      ],
    });
    expect(p.outputs).toEqual({ kind: 'classes', counts: [1, 1, 1] });
    expect(p.feedback?.confusion).toEqual([0, 0, 0, 0, 1, 0, 1, 0, 0]);
    expect(p.feedback?.calibration.count).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
    expect(p.feedback?.calibration.correct).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(roundTrip(p)).toEqual(p);
    const scores = buildProfile([], schema, { outputs: [[0.5], [1.5]] });
    expect(scores.outputs).toMatchObject({ kind: 'scores', scores: { count: 2, mean: 1, min: 0.5, max: 1.5 } });
  });

  it('rejects strings in numeric features, unknown feedback classes and bad options with INVALID_PROFILE', () => {
    expect(() => buildProfile([{ x: '1' }], schema)).toThrow(
      expect.objectContaining({ code: 'INVALID_PROFILE', message: expect.stringMatching(/numeric feature x/) }),
    );
    expect(() => buildProfile([], schema, { feedback: [{ actual: 0, predicted: 0, confidence: 1 }] })).toThrow(
      expect.objectContaining({ code: 'INVALID_PROFILE' }),
    );
    expect(() =>
      buildProfile([], schema, { feedback: [{ actual: 2, predicted: 0, confidence: 1 }], classes: 2 }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_PROFILE' }));
    expect(() => buildProfile([], schema, { outputs: [[1, 2], [1]] })).toThrow(
      expect.objectContaining({ code: 'INVALID_PROFILE' }),
    );
    expect(() => buildProfile([], schema, { k: 3 })).toThrow(expect.objectContaining({ code: 'INVALID_PROFILE' }));
    expect(() => buildProfile([], schema, { topN: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_PROFILE' }));
    expect(() => buildProfile([], { features: [...schema.features, { name: 'x', kind: 'numeric' }] })).toThrow(
      expect.objectContaining({ code: 'INVALID_PROFILE' }),
    );
  });
});

describe('mergeProfiles', () => {
  it('unites features and sums everything, re-trimming categories to the smaller topN', () => {
    const a = buildProfile(
      [{ x: 1, c: 'a' }],
      { features: [schema.features[0], schema.features[2]] } as typeof schema,
      {
        topN: 5,
      },
    );
    const b = buildProfile([{ y: 2, c: 'b' }, { c: 'b' }], { features: schema.features.slice(1) }, { topN: 1 });
    const m = mergeProfiles(a, b);
    expect(m.count).toBe(3);
    expect(Object.keys(m.features)).toEqual(['c', 'x', 'y']);
    expect(m.features.c as CategoricalProfile).toEqual({
      kind: 'categorical',
      count: 3,
      missing: 0,
      topN: 1,
      values: { b: 2 },
      other: 1,
    });
    expect(roundTrip(m)).toEqual(m);
  });

  it('throws PROFILE_MISMATCH for a feature of different kinds or different class counts', () => {
    const a = buildProfile([], { features: [{ name: 'x', kind: 'numeric' }] }, { outputs: [[0.2, 0.8]] });
    const b = buildProfile([], { features: [{ name: 'x', kind: 'categorical' }] });
    expect(() => mergeProfiles(a, b)).toThrow(
      expect.objectContaining({ code: 'PROFILE_MISMATCH', message: expect.stringMatching(/feature x/) }),
    );
    const c = buildProfile([], { features: [] }, { outputs: [[0.2, 0.3, 0.5]] });
    expect(() => mergeProfiles(a, c)).toThrow(expect.objectContaining({ code: 'PROFILE_MISMATCH' }));
    const d = buildProfile([], { features: [] }, { outputs: [[0.5]] });
    expect(() => mergeProfiles(a, d)).toThrow(expect.objectContaining({ code: 'PROFILE_MISMATCH' }));
    const f2 = buildProfile(
      [],
      { features: [] },
      { feedback: [{ actual: 0, predicted: 1, confidence: 0.5 }], classes: 2 },
    );
    const f3 = buildProfile(
      [],
      { features: [] },
      { feedback: [{ actual: 0, predicted: 1, confidence: 0.5 }], classes: 3 },
    );
    expect(() => mergeProfiles(f2, f3)).toThrow(expect.objectContaining({ code: 'PROFILE_MISMATCH' }));
  });

  it('is associative and commutative: same verdicts, statistics within sketch error, exact counts', () => {
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(null, Number.NaN, Number.POSITIVE_INFINITY) },
    );
    const row = fc.record({ x: value, y: fc.integer({ min: 0, max: 20 }), c: fc.constantFrom('a', 'b', 'c', null) });
    const reference = buildProfile(
      Array.from({ length: 3000 }, (_, i) => ({ x: (i % 997) * 1000 - 5e5, y: i % 21, c: 'abc'[i % 3] ?? null })),
      schema,
    );
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 1500, size: 'max' }), fc.nat(), fc.nat(), (rows, s1, s2) => {
        const [i, j] = [s1 % (rows.length + 1), s2 % (rows.length + 1)].sort((p, q) => p - q) as [number, number];
        const [a, b, c] = [rows.slice(0, i), rows.slice(i, j), rows.slice(j)].map((part) =>
          buildProfile(part, schema),
        ) as [Profile, Profile, Profile];
        const left = mergeProfiles(mergeProfiles(a, b), c);
        const right = mergeProfiles(a, mergeProfiles(c, b));
        expect(mergeProfiles(a, b)).toEqual(mergeProfiles(b, a));
        for (const name of ['x', 'y']) {
          const l = numeric(left, name);
          const r = numeric(right, name);
          for (const key of ['count', 'missing', 'nan', 'posInf', 'negInf', 'min', 'max'] as const)
            expect(l[key]).toBe(r[key]);
          expect(l.sketch.n).toBe(r.sketch.n);
          const scale = Math.max(1, Math.abs(l.mean), Math.sqrt(l.m2 / Math.max(1, l.sketch.n)));
          expect(Math.abs(l.mean - r.mean)).toBeLessThanOrEqual(1e-9 * scale);
          expect(Math.abs(l.m2 - r.m2)).toBeLessThanOrEqual(1e-9 * Math.max(1, l.m2));
        }
        expect(left.features.c).toEqual(right.features.c);
        const rl = driftReport(reference, left);
        const rr = driftReport(reference, right);
        rl.features.forEach((f, k) => {
          const g = rr.features[k];
          expect(g?.method).toBe(f.method);
          if (f.statistic === null || g?.statistic == null) expect(g?.statistic).toBe(f.statistic);
          else {
            // Statistics agree within sketch error; a verdict may differ only that close to its threshold.
            expect(Math.abs(f.statistic - g.statistic)).toBeLessThanOrEqual(0.02 * Math.max(1, f.statistic));
            const margin = Math.abs((f.pValue ?? f.statistic) - f.threshold);
            if (margin > 0.02) expect(g.drifted).toBe(f.drifted);
          }
        });
      }),
      // No shrinking: shrinking 1,500-row counterexamples takes minutes; the seed reproduces a failure.
      { numRuns: 40, seed: 20_251_129, endOnFailure: true },
    );
  });
});

describe('Profile schema refinements', () => {
  const p = buildProfile([{ x: 1, c: 'a' }, { x: 2 }], schema, {
    outputs: [
      [0.9, 0.1],
      [0.2, 0.8],
    ],
    feedback: [{ actual: 0, predicted: 0, confidence: 0.9 }],
  });
  const json = () => JSON.parse(JSON.stringify(p));

  it('accepts a built profile and rejects counts that do not add up', () => {
    expect(v.safeParse(Profile, json()).success).toBe(true);
    const bad = json();
    bad.features.x.count = 3;
    expect(v.safeParse(Profile, bad).success).toBe(false);
    const noMin = json();
    noMin.features.x.min = null;
    expect(v.safeParse(Profile, noMin).success).toBe(false);
    const cat = json();
    cat.features.c.other = 5;
    expect(v.safeParse(Profile, cat).success).toBe(false);
  });

  it('rejects a sketch whose weights do not sum to n', () => {
    const bad = json();
    bad.features.x.sketch.n = 5;
    bad.features.x.count = 5 + bad.features.x.missing;
    expect(v.safeParse(Profile, bad).success).toBe(false);
  });

  it('rejects inconsistent feedback and outputs', () => {
    const short = json();
    short.feedback.confusion.pop();
    expect(v.safeParse(Profile, short).success).toBe(false);
    const bins = json();
    bins.feedback.calibration.correct[9] = 5;
    expect(bins.feedback.calibration.count.length).toBe(CALIBRATION_BINS);
    expect(v.safeParse(Profile, bins).success).toBe(false);
    const classes = json();
    classes.outputs.counts.push(0);
    expect(v.safeParse(Profile, classes).success).toBe(false);
  });
});
