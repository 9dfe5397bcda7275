import { type Tensor1D, type Tensor4D, tensor1d, tensor4d, tidy } from '@tensorflow/tfjs-core';
import { type DigitRecords, IMAGE_SIZE } from './data.ts';

/**
 * The model's inputs for `records`: images [n, 28, 28, 1] scaled to [0, 1] (byte / 255) and
 * int32 labels [n]. The caller disposes both.
 *
 * @example
 * const { images, labels } = digitTensors(decodeDigitExamples(bytes, 'holdout.safetensors'));
 */
export function digitTensors(records: DigitRecords): { images: Tensor4D; labels: Tensor1D } {
  const scaled = new Float32Array(records.pixels.length);
  for (let i = 0; i < scaled.length; ++i) scaled[i] = (records.pixels[i] as number) / 255;
  return tidy(() => ({
    images: tensor4d(scaled, [records.count, IMAGE_SIZE, IMAGE_SIZE, 1]),
    labels: tensor1d(records.labels, 'int32'),
  }));
}
