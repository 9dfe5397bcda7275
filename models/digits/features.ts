import { extractFeatures } from '../../protocol/profile/features.ts';
import { IMAGE_SIZE } from './data.ts';

/** Pixel value (in [0, 1]) from which a pixel counts as inked. */
export const INK_THRESHOLD = 0.5;

/** The model's one input, as the manifest declares it: grey levels in [0, 1] (1 = ink). */
export const DIGIT_INPUTS = [
  { name: 'image', dtype: 'float32', shape: [-1, IMAGE_SIZE, IMAGE_SIZE, 1], range: [0, 1] },
] as const;

/**
 * The summary features profiled for drift (a per-pixel feature would be 784 of them), computed
 * on the device from each input by the manifest's `source`: how much is inked, how bright the
 * image is, and where its mass sits.
 */
export const DIGIT_FEATURES = [
  { name: 'ink', kind: 'numeric', source: { stat: 'ink', threshold: INK_THRESHOLD } },
  { name: 'mean_intensity', kind: 'numeric', source: { stat: 'mean' } },
  { name: 'centroid_x', kind: 'numeric', source: { stat: 'centroid_x' } },
  { name: 'centroid_y', kind: 'numeric', source: { stat: 'centroid_y' } },
] as const;

const schema = {
  inputs: [...DIGIT_INPUTS].map((i) => ({ ...i, shape: [...i.shape], range: [...i.range] as [number, number] })),
  features: { features: [...DIGIT_FEATURES] },
};

/**
 * The drift features of one image given as 784 pixel values in [0, 1], exactly as the worker
 * computes them from the manifest.
 *
 * @example
 * digitFeatures(new Float32Array(784)); // { ink: 0, mean_intensity: 0, centroid_x: null, centroid_y: null }
 */
export function digitFeatures(pixels: ArrayLike<number>) {
  return extractFeatures(schema, Float32Array.from(pixels));
}
