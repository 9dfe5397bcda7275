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

/**
 * A digit written with a thicker pen: each pixel takes the brightest value of its 3×3
 * neighbourhood (grey dilation). Moves `ink` and `mean_intensity` far; the centre's spread narrows.
 *
 * @example
 * const bold = thickenStrokes(pixels);
 */
export function thickenStrokes(pixels: ArrayLike<number>): Float32Array {
  const out = new Float32Array(IMAGE_SIZE * IMAGE_SIZE);
  for (let row = 0; row < IMAGE_SIZE; row++) {
    for (let col = 0; col < IMAGE_SIZE; col++) {
      let brightest = 0;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const r = row + dr;
          const c = col + dc;
          if (r < 0 || c < 0 || r >= IMAGE_SIZE || c >= IMAGE_SIZE) continue;
          brightest = Math.max(brightest, pixels[r * IMAGE_SIZE + c] as number);
        }
      }
      out[row * IMAGE_SIZE + col] = brightest;
    }
  }
  return out;
}

/**
 * A digit with inverted intensities (light strokes on dark become dark on light): 1 − value.
 *
 * @example
 * const negative = invertIntensities(pixels);
 */
export function invertIntensities(pixels: ArrayLike<number>): Float32Array {
  return Float32Array.from({ length: IMAGE_SIZE * IMAGE_SIZE }, (_, i) => 1 - (pixels[i] as number));
}
