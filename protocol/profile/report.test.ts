import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { buildProfile } from './build.ts';
import { performance } from './performance.ts';
import { DriftReport } from './report.schema.ts';
import { driftReport } from './report.ts';
import type { ProfileRow } from './schema.ts';

const schema = {
  features: [
    { name: 'size', kind: 'numeric' as const },
    { name: 'color', kind: 'categorical' as const },
  ],
};

/** n rows: size uniform on [shift, shift + 1), color 'red' with probability `red`, else 'blue'. */
function rows(n: number, shift: number, red: number): ProfileRow[] {
  return Array.from({ length: n }, (_, i) => {
    const u = ((i * 7919) % n) / n;
    return { size: u + shift, color: ((i * 104_729) % n) / n < red ? 'red' : 'blue' };
  });
}

describe('driftReport', () => {
  it("uses Evidently's distances for references over 1,000 values and flags the shifted feature", () => {
    const reference = buildProfile(rows(5000, 0, 0.5), schema);
    const report = driftReport(reference, buildProfile(rows(2000, 0.3, 0.5), schema), {
      model: 'shop',
      version: 3,
      window: { from: 0, to: 3_600_000 },
    });
    expect(v.parse(DriftReport, report)).toEqual(report);
    expect(report).toMatchObject({ model: 'shop', version: 3, reference: { count: 5000 }, current: { count: 2000 } });
    const [color, size] = report.features;
    expect(color).toMatchObject({ name: 'color', method: 'jensenshannon', threshold: 0.1, drifted: false });
    expect(color?.statistic).toBeLessThan(0.02);
    // Uniform [0, 1) moved by 0.3: W1 = 0.3, over std 1/√12.
    expect(size).toMatchObject({ name: 'size', method: 'wasserstein', threshold: 0.1, drifted: true });
    expect(size?.statistic).toBeCloseTo(0.3 * Math.sqrt(12), 1);
    expect(report.dataset).toEqual({ driftedShare: 0.5, drifted: true, threshold: 0.5 });
    expect(report.predictions).toBeUndefined();
    expect(report.performance).toBeUndefined();
  });

  it('uses KS and chi-square p-values for small references', () => {
    const reference = buildProfile(rows(500, 0, 0.5), schema);
    const same = driftReport(reference, buildProfile(rows(400, 0, 0.5), schema));
    expect(same.features.map((f) => [f.method, f.drifted])).toEqual([
      ['chisquare', false],
      ['ks', false],
    ]);
    expect(same.features.every((f) => f.pValue !== undefined && f.pValue > 0.05)).toBe(true);
    const moved = driftReport(reference, buildProfile(rows(400, 0.5, 0.9), schema));
    expect(moved.features.map((f) => f.drifted)).toEqual([true, true]);
    expect(moved.features.every((f) => (f.pValue ?? 1) < 1e-6)).toBe(true);
    expect(moved.dataset.drifted).toBe(true);
  });

  it('follows per-feature methods and thresholds, in the order given', () => {
    const reference = buildProfile(rows(5000, 0, 0.5), schema);
    const report = driftReport(reference, buildProfile(rows(2000, 0.05, 0.5), schema), {
      features: [
        { name: 'size', kind: 'numeric', drift: { method: 'psi' } },
        { name: 'color', kind: 'categorical', drift: { threshold: 0.001 } },
      ],
      datasetThreshold: 0.9,
    });
    expect(report.features.map((f) => [f.name, f.method, f.threshold])).toEqual([
      ['size', 'psi', 0.1],
      ['color', 'jensenshannon', 0.001],
    ]);
    expect(report.dataset.threshold).toBe(0.9);
    const ks = driftReport(reference, reference, {
      features: [{ name: 'size', kind: 'numeric', drift: { method: 'ks' } }],
    });
    expect(ks.features[0]).toMatchObject({ method: 'ks', statistic: 0, pValue: 1, threshold: 0.05, drifted: false });
  });

  it('reports null statistics for features the window has no values for', () => {
    const reference = buildProfile(rows(100, 0, 0.5), schema);
    const report = driftReport(reference, buildProfile([{ size: null }], schema));
    expect(report.features.map((f) => [f.statistic, f.drifted])).toEqual([
      [null, false],
      [null, false],
    ]);
    expect(report.dataset).toEqual({ driftedShare: 0, drifted: false, threshold: 0.5 });
    expect(v.parse(DriftReport, report)).toEqual(report);
  });

  it('throws PROFILE_MISMATCH for a missing reference feature, a kind change or a method of the other kind', () => {
    const reference = buildProfile(rows(100, 0, 0.5), schema);
    expect(() => driftReport(reference, reference, { features: [{ name: 'weight', kind: 'numeric' }] })).toThrow(
      expect.objectContaining({ code: 'PROFILE_MISMATCH' }),
    );
    const flipped = buildProfile([{ size: 'big' }], { features: [{ name: 'size', kind: 'categorical' }] });
    expect(() => driftReport(reference, flipped)).toThrow(
      expect.objectContaining({ code: 'PROFILE_MISMATCH', message: expect.stringMatching(/size/) }),
    );
    for (const [name, kind, method] of [
      ['color', 'categorical', 'ks'],
      ['color', 'categorical', 'wasserstein'],
      ['size', 'numeric', 'chisquare'],
    ] as const) {
      expect(() => driftReport(reference, reference, { features: [{ name, kind, drift: { method } }] })).toThrow(
        expect.objectContaining({ code: 'PROFILE_MISMATCH' }),
      );
    }
  });

  it('judges prediction drift and performance from outputs and feedback', () => {
    const outputs = (n: number, share: number) =>
      Array.from({ length: n }, (_, i) => (i < n * share ? [0.9, 0.1] : [0.2, 0.8]));
    const reference = buildProfile([], schema, { outputs: outputs(2000, 0.5) });
    const current = buildProfile([], schema, {
      outputs: outputs(500, 0.9),
      feedback: [{ actual: 0, predicted: 0, confidence: 0.9 }],
    });
    const report = driftReport(reference, current);
    expect(report.predictions).toMatchObject({ method: 'jensenshannon', threshold: 0.1, drifted: true });
    expect(report.performance).toMatchObject({ count: 1, accuracy: 1 });
    const small = driftReport(buildProfile([], schema, { outputs: outputs(200, 0.5) }), current);
    expect(small.predictions).toMatchObject({ method: 'chisquare', drifted: true });
    const scores = driftReport(
      buildProfile([], schema, { outputs: [[0.1], [0.2]] }),
      buildProfile([], schema, { outputs: [[0.15]] }),
    );
    expect(scores.predictions).toMatchObject({ method: 'ks', drifted: false });
    expect(() => driftReport(reference, buildProfile([], schema, { outputs: [[0.5]] }))).toThrow(
      expect.objectContaining({ code: 'PROFILE_MISMATCH' }),
    );
    expect(v.parse(DriftReport, report)).toEqual(report);
  });
});

describe('performance', () => {
  it('computes accuracy, per-class precision/recall/support and ECE from a hand-made confusion', () => {
    // Class 0: 3 right, 1 taken for 1. Class 1: 1 right. Class 2: never seen nor predicted.
    const feedback = [
      { actual: 0, predicted: 0, confidence: 0.95 },
      { actual: 0, predicted: 0, confidence: 0.91 },
      { actual: 0, predicted: 0, confidence: 0.62 },
      { actual: 0, predicted: 1, confidence: 0.65 },
      { actual: 1, predicted: 1, confidence: 0.3 },
    ];
    const p = performance(
      buildProfile([], schema, { feedback, classes: 3 }).feedback ?? expect.fail('feedback expected'),
    );
    expect(p.count).toBe(5);
    expect(p.accuracy).toBeCloseTo(0.8, 12);
    expect(p.classes).toEqual([
      { label: 0, support: 4, precision: 1, recall: 0.75 },
      { label: 1, support: 1, precision: 0.5, recall: 1 },
      { label: 2, support: 0, precision: null, recall: null },
    ]);
    // Bins: 0.9x → 2 right, confidence 1.86; 0.6x → 1 right, 1.27; 0.3 → 1 right, 0.3.
    expect(p.ece).toBeCloseTo((Math.abs(2 - 1.86) + Math.abs(1 - 1.27) + Math.abs(1 - 0.3)) / 5, 12);
  });

  it('has null ratios when no feedback was counted', () => {
    const zeros = new Array<number>(10).fill(0);
    const p = performance({
      classes: 2,
      confusion: [0, 0, 0, 0],
      calibration: { count: zeros, correct: zeros, confidence: zeros },
    });
    expect(p).toEqual({
      count: 0,
      accuracy: null,
      ece: null,
      classes: [
        { label: 0, support: 0, precision: null, recall: null },
        { label: 1, support: 0, precision: null, recall: null },
      ],
    });
  });
});
