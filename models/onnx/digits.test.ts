import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModelJson } from '../../protocol/model-json.ts';
import { ARTIFACTS_DIR, loadLayersModelFromDir } from '../digits/artifacts.ts';
import { type DigitRecords, decodeDigitExamples, HOLDOUT_FILE } from '../digits/data.ts';
import { digitAccuracy, predictDigits } from '../digits/evaluate.ts';
import { exportOnnx } from './export.ts';
import { maxAbsDiff, runOnnx } from './test-support.ts';

const bytesOf = (file: string): ArrayBuffer => new Uint8Array(readFileSync(join(ARTIFACTS_DIR, file))).buffer;

/** The most probable class of row `i` of [n, 10] probabilities. */
function argmax(probabilities: Float32Array, i: number): number {
  const row = Array.from(probabilities.subarray(i * 10, (i + 1) * 10));
  return row.indexOf(Math.max(...row));
}

let holdout: DigitRecords;

beforeAll(async () => {
  await setBackend('cpu');
  holdout = decodeDigitExamples(new Uint8Array(bytesOf(HOLDOUT_FILE)), HOLDOUT_FILE);
});

describe('exportOnnx: the committed digits CNN', () => {
  it('predicts the 2000 holdout images as tfjs does (max |Δp| ≤ 1e-5, same argmax, same accuracy)', async () => {
    const modelJson = parseModelJson(bytesOf('model.json'), 'model.json');
    const onnx = exportOnnx(modelJson, [bytesOf('weights.bin')], { inputName: 'image', outputName: 'probabilities' });
    // The model takes bytes / 255, as models/digits/tensors.ts scales them.
    const images = Float32Array.from(holdout.pixels, (b) => b / 255);
    const actual = await runOnnx(onnx, images, [holdout.count, 28, 28, 1]);
    expect(actual.session.inputNames).toEqual(['image']);
    expect(actual.session.outputNames).toEqual(['probabilities']);
    expect(actual.dims).toEqual([holdout.count, 10]);

    const expected = predictDigits(await loadLayersModelFromDir(ARTIFACTS_DIR), holdout);
    expect(maxAbsDiff(expected, actual.data)).toBeLessThanOrEqual(1e-5);
    const differing = Array.from({ length: holdout.count }, (_, i) => i).filter(
      (i) => argmax(expected, i) !== argmax(actual.data, i),
    );
    expect(differing).toEqual([]);
    const accuracy = digitAccuracy(actual.data, holdout.labels);
    expect(accuracy).toBe(digitAccuracy(expected, holdout.labels));
    expect(accuracy).toBeGreaterThanOrEqual(0.97);
  });
});
