import type { LayersModel } from '@tensorflow/tfjs-layers';
import { buildProfile } from '../../protocol/profile/build.ts';
import type { Profile } from '../../protocol/profile/schema.ts';
import { type DigitRecords, PIXELS } from './data.ts';
import { predictDigits } from './evaluate.ts';
import { DIGIT_FEATURES, digitFeatures } from './features.ts';
import { NUM_CLASSES } from './model.ts';

/** The reference profile's file in the artifacts, listed with role `reference`. */
export const REFERENCE_FILE = 'reference.json';

/**
 * The profile drift is measured against: the drift features of every training image and the
 * model's predicted classes on them, as clients will profile what they see.
 *
 * @example
 * const reference = digitsReference(model, trainSet); // reference.count === 8000
 */
export function digitsReference(model: LayersModel, records: DigitRecords): Profile {
  const probabilities = predictDigits(model, records);
  const rows = [];
  const outputs = [];
  for (let i = 0; i < records.count; i++) {
    const pixels = records.pixels.subarray(i * PIXELS, (i + 1) * PIXELS);
    rows.push(digitFeatures(Float32Array.from(pixels, (byte) => byte / 255)));
    outputs.push(Array.from(probabilities.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES)));
  }
  return buildProfile(rows, { features: DIGIT_FEATURES }, { outputs, classes: NUM_CLASSES });
}
