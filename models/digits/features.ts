import { PIXELS } from './data.ts';

/** The summary features profiled for drift: a per-pixel feature would be 784 of them. */
export const DIGIT_FEATURES = [
  { name: 'ink', kind: 'numeric' },
  { name: 'mean_intensity', kind: 'numeric' },
] as const satisfies readonly { name: string; kind: 'numeric' }[];

/** Pixel value (in [0, 1]) from which a pixel counts as inked. */
export const INK_THRESHOLD = 0.5;

/**
 * Summary features of one image given as 784 pixel values in [0, 1]: `ink`, the fraction of
 * pixels at or above {@link INK_THRESHOLD}, and `mean_intensity`, the mean pixel value.
 *
 * @example
 * digitFeatures(new Float32Array(784)); // { ink: 0, mean_intensity: 0 }
 */
export function digitFeatures(pixels: ArrayLike<number>): { ink: number; mean_intensity: number } {
  if (pixels.length !== PIXELS) throw new Error(`digit features: expected ${PIXELS} pixels, got ${pixels.length}`);
  let inked = 0;
  let total = 0;
  for (let i = 0; i < PIXELS; ++i) {
    const v = pixels[i] as number;
    if (v >= INK_THRESHOLD) inked++;
    total += v;
  }
  return { ink: inked / PIXELS, mean_intensity: total / PIXELS };
}
