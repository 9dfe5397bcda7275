import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIGIT_RECORD_BYTES } from '../../protocol/manifest.ts';
import { seededRandom } from '../../protocol/random.ts';
import { encodeExamples } from '../../protocol/tensors/examples.ts';
import { ARTIFACTS_DIR } from './artifacts.ts';
import { shiftDigits } from './augment.ts';
import {
  type DigitRecords,
  decodeDigitExamples,
  decodeDigitRecords,
  encodeDigitExamples,
  encodeDigitRecords,
  HOLDOUT_FILE,
  PIXELS,
  REPLAY_FILE,
  shuffleInPlace,
} from './data.ts';
import { digitFeatures } from './features.ts';
import { loadMnistRecords } from './mnist-source.ts';
import { splitDigits } from './split.ts';

const artifact = (file: string) => decodeDigitExamples(readFileSync(join(ARTIFACTS_DIR, file)), file);

/** Whether two record sets are the same examples (compared as bytes: toEqual is slow on a megabyte). */
const same = (a: DigitRecords, b: DigitRecords) =>
  a.count === b.count && Buffer.compare(a.labels, b.labels) === 0 && Buffer.compare(a.pixels, b.pixels) === 0;

const manifest = JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'manifest.json'), 'utf8')) as {
  training: { seed: number; split: { train: number; holdout: number } };
};

describe('digits data', () => {
  it('loads every mnist sample exactly once, as bytes', () => {
    const all = loadMnistRecords();
    expect(all.count).toBe(10_000);
    const perDigit = Array.from({ length: 10 }, (_, d) => all.labels.filter((l) => l === d).length);
    expect(perDigit).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(all.pixels.length).toBe(10_000 * PIXELS);
    expect(Math.max(...all.pixels.subarray(0, 10 * PIXELS))).toBe(255);
  });

  it('reproduces the committed replay.safetensors and holdout.safetensors from the seed', () => {
    const split = splitDigits(loadMnistRecords(), {
      seed: manifest.training.seed,
      trainCount: manifest.training.split.train,
      replayPerClass: 50,
    });
    expect(split.holdout.count).toBe(manifest.training.split.holdout);
    expect(same(artifact(HOLDOUT_FILE), split.holdout)).toBe(true);
    expect(same(artifact(REPLAY_FILE), split.replay)).toBe(true);
    // Byte for byte what write-examples.ts and train.ts write.
    const holdout = readFileSync(join(ARTIFACTS_DIR, HOLDOUT_FILE));
    expect(Buffer.compare(encodeDigitExamples(split.holdout), holdout)).toBe(0);
    // The legacy record files still committed hold the same examples.
    expect(same(artifact('holdout.bin'), split.holdout)).toBe(true);
    expect(same(artifact('replay.bin'), split.replay)).toBe(true);
  });

  it('draws a class-balanced replay buffer from the train split only', () => {
    const replay = artifact(REPLAY_FILE);
    const holdout = artifact(HOLDOUT_FILE);
    expect(Array.from({ length: 10 }, (_, d) => replay.labels.filter((l) => l === d).length)).toEqual(
      new Array(10).fill(50),
    );
    const key = (r: typeof replay, i: number) =>
      Buffer.from(r.pixels.subarray(i * PIXELS, (i + 1) * PIXELS)).toString('base64');
    const held = new Set(Array.from({ length: holdout.count }, (_, i) => key(holdout, i)));
    expect(Array.from({ length: replay.count }, (_, i) => key(replay, i)).filter((k) => held.has(k))).toEqual([]);
  });

  it('round-trips examples files and legacy records, and refuses what is not digits', () => {
    const records = {
      count: 2,
      labels: Uint8Array.of(3, 9),
      pixels: Uint8Array.from({ length: 2 * PIXELS }, (_, i) => i % 256),
    };
    expect(decodeDigitExamples(encodeDigitExamples(records), 'digits.safetensors')).toEqual(records);
    const legacy = encodeDigitRecords(records);
    expect(legacy.length).toBe(2 * DIGIT_RECORD_BYTES);
    expect(decodeDigitRecords(legacy)).toEqual(records);
    expect(decodeDigitExamples(legacy, 'digits.bin')).toEqual(records);
    expect(() => decodeDigitRecords(legacy.subarray(1))).toThrow(/multiple of 785/);
    expect(() => decodeDigitExamples(legacy.subarray(1), 'digits.bin')).toThrow(/digits.bin: .* multiple of 785/);
    const halves = encodeExamples({
      shape: [28, 28, 1],
      inputs: records.pixels,
      scale: 0.5,
      labels: Int32Array.of(3, 9),
    });
    expect(() => decodeDigitExamples(halves, 'half.safetensors')).toThrow(
      expect.objectContaining({
        code: 'INVALID_MANIFEST',
        message: 'half.safetensors: digit images are U8 inputs with inputs_scale 1/255',
      }),
    );
    const tens = encodeDigitExamples({ ...records, labels: Uint8Array.of(3, 10) });
    expect(() => decodeDigitExamples(tens, 'ten.safetensors')).toThrow(
      /example 1 has label 10, not a class in \[0, 10\)/,
    );
  });

  it('shuffles the same way for the same seed', () => {
    const a = shuffleInPlace([...Array(20).keys()], seededRandom(7));
    expect(shuffleInPlace([...Array(20).keys()], seededRandom(7))).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    expect(a).not.toEqual([...Array(20).keys()]);
  });

  it('computes the summary features', () => {
    const pixels = new Float32Array(PIXELS);
    pixels.fill(1, 0, 196);
    pixels.fill(0.25, 196, 392);
    const features = digitFeatures(pixels);
    expect(features.ink).toBe(0.25);
    expect(features.mean_intensity).toBeCloseTo((196 + 49) / PIXELS, 6);
    expect(features.centroid_x).toBeCloseTo(0.5, 6);
    // Rows 0–6 at full weight, rows 7–13 at a quarter: (24.5 + 73.5 / 4) / 8.75 rows, over 28.
    expect(features.centroid_y).toBeCloseTo(4.9 / 28, 6);
  });

  it('shifts images by whole pixels within the given range, filling with zeros', () => {
    const pixels = new Uint8Array(3 * PIXELS);
    for (let i = 0; i < 3; ++i) pixels[i * PIXELS + 14 * 28 + 14] = 200 + i; // one dot in the middle
    const shifted = shiftDigits({ count: 3, labels: Uint8Array.of(1, 2, 3), pixels }, seededRandom(3), 2);
    expect(Array.from(shifted.labels)).toEqual([1, 2, 3]);
    for (let i = 0; i < 3; ++i) {
      const image = Array.from(shifted.pixels.subarray(i * PIXELS, (i + 1) * PIXELS));
      const at = image.findIndex((v) => v !== 0);
      expect(image.filter((v) => v !== 0)).toEqual([200 + i]);
      expect(Math.abs(Math.floor(at / 28) - 14)).toBeLessThanOrEqual(2);
      expect(Math.abs((at % 28) - 14)).toBeLessThanOrEqual(2);
    }
    const again = shiftDigits({ count: 3, labels: Uint8Array.of(1, 2, 3), pixels }, seededRandom(3), 2);
    expect(again.pixels).toEqual(shifted.pixels);
  });
});
