import { IMAGE_SIZE } from './data.ts';

/**
 * A digit image turned a quarter clockwise: a "user's handwriting" the upright-trained model
 * mostly gets wrong, so corrections of it carry real signal. Tests and the bench fine-tune on it.
 *
 * @example
 * const rotated = rotateQuarter(pixels); // 784 values, row-major
 */
export function rotateQuarter(pixels: ArrayLike<number>): Float32Array {
  const out = new Float32Array(IMAGE_SIZE * IMAGE_SIZE);
  for (let row = 0; row < IMAGE_SIZE; row++) {
    for (let col = 0; col < IMAGE_SIZE; col++) {
      out[row * IMAGE_SIZE + col] = pixels[(IMAGE_SIZE - 1 - col) * IMAGE_SIZE + row] as number;
    }
  }
  return out;
}
