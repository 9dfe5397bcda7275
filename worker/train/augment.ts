import { bilinearSampling, resample } from './sampling.ts';

/**
 * Random affine jitters of image inputs ([height, width, channels], row-major): each entry of
 * the 2×2 map moves by up to ±0.25 (rotation, shear and scale of up to about 15°, 25%, 25%) and
 * the image shifts by up to ±1.5 pixels per 28. A user gives few labels; seeing each many ways
 * keeps the personal head from memorising pixels (stronger jitter closed more of the gap on
 * every style in worker/train/README.md). Edges are replicated, so a light background stays light.
 *
 * @example
 * const more = augmentImages(inputs, 50, [28, 28, 1], 8, Math.random); // 400 images, copy 0 unchanged
 */
export function augmentImages(
  inputs: Float32Array,
  count: number,
  shape: readonly number[],
  copies: number,
  random: () => number,
): Float32Array {
  const [height = 0, width = 0, channels = 1] = shape;
  const size = height * width * channels;
  const out = new Float32Array(count * copies * size);
  const shiftRange = (1.5 * Math.max(height, width)) / 28;
  for (let i = 0; i < count; i++) {
    const image = inputs.subarray(i * size, (i + 1) * size);
    out.set(image, i * copies * size);
    for (let copy = 1; copy < copies; copy++) {
      const j = () => (random() - 0.5) * 2 * JITTER;
      const map = [1 + j(), j(), j(), 1 + j()] as const;
      const shift = [(random() - 0.5) * 2 * shiftRange, (random() - 0.5) * 2 * shiftRange] as const;
      jitter(image, out.subarray((i * copies + copy) * size, (i * copies + copy + 1) * size), shape, map, shift);
    }
  }
  return out;
}

/** True for inputs shaped like images: [height, width, 1 or 3 channels] of at least 8×8. */
export function isImageShape(shape: readonly number[]): boolean {
  return shape.length === 3 && (shape[0] ?? 0) >= 8 && (shape[1] ?? 0) >= 8 && (shape[2] === 1 || shape[2] === 3);
}

/** Largest change of each entry of the jitter's 2×2 map. */
const JITTER = 0.25;

/** Output pixel p samples the input at `map · (p − centre − shift) + centre` (rows then columns; bilinear, edges replicated). */
function jitter(
  from: Float32Array,
  to: Float32Array,
  shape: readonly number[],
  map: readonly [number, number, number, number],
  shift: readonly [number, number],
): void {
  const [height = 0, width = 0, channels = 1] = shape;
  const [a, b, c, d] = map;
  const cy = (height - 1) / 2;
  const cx = (width - 1) / 2;
  // The same map in (x, y) = (column, row) coordinates.
  const sampling = bilinearSampling(
    [d, c, cx - d * (cx + shift[1]) - c * (cy + shift[0]), b, a, cy - b * (cx + shift[1]) - a * (cy + shift[0])],
    height,
    width,
  );
  resample(sampling, from, to, channels);
}
