import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setBackend } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import { Manifest } from '../../protocol/manifest.ts';
import { buildProfile } from '../../protocol/profile/build.ts';
import { driftReport } from '../../protocol/profile/report.ts';
import { Profile } from '../../protocol/profile/schema.ts';
import { ARTIFACTS_DIR, loadLayersModelFromDir } from './artifacts.ts';
import { type DigitRecords, decodeDigitExamples, HOLDOUT_FILE, PIXELS } from './data.ts';
import { predictDigits } from './evaluate.ts';
import { DIGIT_FEATURES, digitFeatures } from './features.ts';
import { NUM_CLASSES } from './model.ts';
import { invertIntensities, thickenStrokes } from './user-style.ts';

// What a fleet of clients would report: the committed reference (the training split) against
// held-out digits as drawn, drawn with a thicker pen, and inverted. 300 digits, as in the
// Playwright drift spec.
const SAMPLE = 300;
const manifest = v.parse(Manifest, JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'manifest.json'), 'utf8')));
const reference = v.parse(Profile, JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'reference.json'), 'utf8')));
let model: LayersModel;
let holdout: DigitRecords;

beforeAll(async () => {
  await setBackend('cpu');
  model = await loadLayersModelFromDir(ARTIFACTS_DIR);
  holdout = decodeDigitExamples(readFileSync(join(ARTIFACTS_DIR, HOLDOUT_FILE)), HOLDOUT_FILE);
});

function reportFor(style: (pixels: Float32Array) => Float32Array) {
  const images = Array.from({ length: SAMPLE }, (_, i) =>
    style(Float32Array.from(holdout.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), (b) => b / 255)),
  );
  const records = {
    count: SAMPLE,
    labels: holdout.labels.subarray(0, SAMPLE),
    pixels: Uint8Array.from(images.flatMap((image) => Array.from(image, (x) => Math.round(x * 255)))),
  };
  const probabilities = predictDigits(model, records);
  const outputs = images.map((_, i) => Array.from(probabilities.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES)));
  const current = buildProfile(
    images.map(digitFeatures),
    { features: DIGIT_FEATURES },
    { outputs, classes: NUM_CLASSES },
  );
  const report = driftReport(reference, current, {
    model: 'digits',
    version: 1,
    window: { from: 0, to: 3_600_000 },
    features: manifest.features.features,
  });
  const drifted = report.features.filter((f) => f.drifted).map((f) => f.name);
  return { report, drifted };
}

describe('drift of the digits model', () => {
  it('has a reference of the 8,000 training digits with the manifest features and predicted classes', () => {
    expect(reference.count).toBe(8000);
    expect(Object.keys(reference.features).sort()).toEqual(DIGIT_FEATURES.map((f) => f.name).sort());
    expect(reference.outputs?.kind).toBe('classes');
  });

  it('sees no drift in held-out digits as drawn', () => {
    const { report, drifted } = reportFor((pixels) => pixels);
    // Sampling noise of 300 digits stays well under the 0.1 threshold.
    for (const feature of report.features) expect(feature.statistic).toBeLessThan(0.08);
    expect(report.features.map((f) => f.method)).toEqual(['wasserstein', 'wasserstein', 'wasserstein', 'wasserstein']);
    expect(drifted).toEqual([]);
    expect(report.dataset.drifted).toBe(false);
    expect(report.predictions?.drifted).toBe(false);
  });

  it('flags thicker strokes: ink and intensity by far, the centre too as its spread narrows', () => {
    const { report, drifted } = reportFor(thickenStrokes);
    expect(drifted).toEqual(['ink', 'mean_intensity', 'centroid_x', 'centroid_y']);
    const statistic = (name: string) => report.features.find((f) => f.name === name)?.statistic ?? 0;
    // Ink and intensity move by about three reference standard deviations; the centre's
    // distribution moves by a fraction of one (a dilated digit's mass sits nearer the middle).
    for (const name of ['ink', 'mean_intensity']) expect(statistic(name)).toBeGreaterThan(2);
    for (const name of ['centroid_x', 'centroid_y']) expect(statistic(name)).toBeLessThan(0.5);
    expect(report.dataset).toMatchObject({ driftedShare: 1, drifted: true });
  });

  it('flags every feature when intensities are inverted', () => {
    const { report, drifted } = reportFor(invertIntensities);
    expect(drifted).toEqual(['ink', 'mean_intensity', 'centroid_x', 'centroid_y']);
    expect(report.dataset.drifted).toBe(true);
    expect(report.predictions?.drifted).toBe(true);
  });
});
