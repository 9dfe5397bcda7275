/**
 * An affine map of pixel coordinates, output pixel → input pixel (x is the column):
 * `x_in = a·x + b·y + tx`, `y_in = c·x + d·y + ty`, as `[a, b, tx, c, d, ty]`.
 */
export type AffineMap = readonly [number, number, number, number, number, number];

/** Bilinear sampling of a map: for corner k of output pixel p, input pixel `indices[k·hw + p]` weighs `weights[k·hw + p]`. */
export interface Sampling {
  indices: Int32Array;
  weights: Float32Array;
}

/**
 * The bilinear sampling of `map` on `[height, width]` images, coordinates clamped to the image
 * (edges replicated, so a background stays a background). One table serves every channel and
 * every image: augment.ts applies it in JavaScript, align.ts as gathers.
 *
 * @example
 * const { indices, weights } = bilinearSampling([1, 0, 0, 0, 1, 0], 28, 28); // the identity
 */
export function bilinearSampling(map: AffineMap, height: number, width: number): Sampling {
  const [a, b, tx, c, d, ty] = map;
  const pixels = height * width;
  const indices = new Int32Array(4 * pixels);
  const weights = new Float32Array(4 * pixels);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const p = row * width + col;
      const x = Math.min(width - 1, Math.max(0, a * col + b * row + tx));
      const y = Math.min(height - 1, Math.max(0, c * col + d * row + ty));
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const x1 = Math.min(width - 1, x0 + 1);
      const y1 = Math.min(height - 1, y0 + 1);
      const fx = x - x0;
      const fy = y - y0;
      // Written out, not as an array of corners: this runs for every pixel of every augmented copy.
      indices[p] = y0 * width + x0;
      weights[p] = (1 - fx) * (1 - fy);
      indices[pixels + p] = y0 * width + x1;
      weights[pixels + p] = fx * (1 - fy);
      indices[2 * pixels + p] = y1 * width + x0;
      weights[2 * pixels + p] = (1 - fx) * fy;
      indices[3 * pixels + p] = y1 * width + x1;
      weights[3 * pixels + p] = fx * fy;
    }
  }
  return { indices, weights };
}

/**
 * Writes `from` sampled by `sampling` into `to` (one image, `channels` interleaved).
 *
 * @example
 * resample(bilinearSampling(map, 28, 28), image, out, 1);
 */
export function resample(sampling: Sampling, from: Float32Array, to: Float32Array, channels: number): void {
  const pixels = sampling.indices.length / 4;
  to.fill(0);
  for (let k = 0; k < 4; k++) {
    for (let p = 0; p < pixels; p++) {
      const source = sampling.indices[k * pixels + p] as number;
      const weight = sampling.weights[k * pixels + p] as number;
      for (let ch = 0; ch < channels; ch++) {
        to[p * channels + ch] = (to[p * channels + ch] as number) + weight * (from[source * channels + ch] as number);
      }
    }
  }
}
