import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type DigitRecords, selectDigitRecords } from './data.ts';
import { NUM_CLASSES } from './model.ts';
import { digitTensors } from './tensors.ts';

/**
 * Class probabilities for every record, row-major [count, 10], predicted in inference mode
 * (no dropout) in batches of `batchSize`.
 *
 * @example
 * const probabilities = predictDigits(model, holdout);
 */
export function predictDigits(model: LayersModel, records: DigitRecords, batchSize = 500): Float32Array {
  const out = new Float32Array(records.count * NUM_CLASSES);
  for (let start = 0; start < records.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, records.count - start) }, (_, i) => start + i);
    const { images, labels } = digitTensors(selectDigitRecords(records, indices));
    const probabilities = model.predict(images) as Tensor;
    out.set(probabilities.dataSync(), start * NUM_CLASSES);
    images.dispose();
    labels.dispose();
    probabilities.dispose();
  }
  return out;
}

/**
 * Fraction of examples whose most probable class (the first maximum, as `tf.argMax` picks)
 * equals the label.
 *
 * @example
 * digitAccuracy(predictDigits(model, holdout), holdout.labels); // 0.975
 */
export function digitAccuracy(probabilities: Float32Array, labels: Uint8Array): number {
  if (probabilities.length !== labels.length * NUM_CLASSES) throw new Error('digit accuracy: shape mismatch');
  let correct = 0;
  for (let i = 0; i < labels.length; ++i) {
    let best = 0;
    for (let c = 1; c < NUM_CLASSES; ++c) {
      if ((probabilities[i * NUM_CLASSES + c] as number) > (probabilities[i * NUM_CLASSES + best] as number)) best = c;
    }
    if (best === labels[i]) correct++;
  }
  return correct / labels.length;
}
