import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type DigitRecords, PIXELS } from './data.ts';
import { predictDigits } from './evaluate.ts';
import { NUM_CLASSES } from './model.ts';

/** One golden case: an input image (784 pixel bytes, row-major) and what the model answers. */
export interface GoldenCase {
  label: number;
  pixels: number[];
  /** The trained model's output on tfjs-cpu for `pixels / 255`. */
  probabilities: number[];
}

/** `fixtures/golden.json`: a few held-out inputs with the committed model's exact outputs. */
export interface GoldenFixture {
  description: string;
  cases: GoldenCase[];
}

/**
 * Golden cases for `model`: the first held-out examples with distinct labels that the model
 * classifies correctly (`count` of them), so consumers can also check the predicted class.
 *
 * @example
 * writeFileSync('golden.json', JSON.stringify(goldenFixture(model, holdout)));
 */
export function goldenFixture(model: LayersModel, holdout: DigitRecords, count = 3): GoldenFixture {
  const probabilities = predictDigits(model, holdout);
  const predicted = (i: number) => {
    const row = Array.from(probabilities.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES));
    return row.indexOf(Math.max(...row));
  };
  const indices: number[] = [];
  for (let i = 0; i < holdout.count && indices.length < count; ++i) {
    const label = holdout.labels[i] as number;
    if (predicted(i) === label && !indices.some((j) => holdout.labels[j] === label)) indices.push(i);
  }
  return {
    description:
      'Held-out digits: input pixel bytes (model input is byte / 255) and the committed model output on tfjs-cpu.',
    cases: indices.map((i) => ({
      label: holdout.labels[i] as number,
      pixels: Array.from(holdout.pixels.subarray(i * PIXELS, (i + 1) * PIXELS)),
      probabilities: Array.from(probabilities.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES)),
    })),
  };
}
