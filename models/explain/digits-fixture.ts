// Node-only, for tests: the committed digits model and real held-out images, as explanations take them.
import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ARTIFACTS_DIR, loadLayersModelFromDir } from '../digits/artifacts.ts';
import { decodeDigitRecords, PIXELS } from '../digits/data.ts';
import type { FloatBatch } from './common.ts';

/**
 * The committed digits CNN on tfjs-cpu and the first `count` held-out images, scaled to [0, 1]
 * as the model was trained (byte / 255), shape [count, 28, 28, 1].
 *
 * @example
 * const { model, images, labels } = await digitsFixture(6);
 */
export async function digitsFixture(
  count: number,
): Promise<{ model: LayersModel; images: FloatBatch; labels: number[] }> {
  await tf.setBackend('cpu');
  const model = await loadLayersModelFromDir(ARTIFACTS_DIR);
  const records = decodeDigitRecords(new Uint8Array(readFileSync(join(ARTIFACTS_DIR, 'holdout.bin'))));
  const data = Float32Array.from(records.pixels.subarray(0, count * PIXELS), (byte) => byte / 255);
  return { model, images: { shape: [count, 28, 28, 1], data }, labels: Array.from(records.labels.subarray(0, count)) };
}
