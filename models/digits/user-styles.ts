import { IMAGE_SIZE, PIXELS } from './data.ts';
import { invertIntensities, rotateQuarter, thickenStrokes } from './user-style.ts';

/**
 * A "user's handwriting": a distortion of a digit image (784 values in [0, 1], row-major).
 * `random` is only drawn from by styles that vary per image (jitter, noise).
 */
export type UserStyle = (pixels: ArrayLike<number>, random: () => number) => Float32Array;

/** One named style, with what it imitates. */
export interface NamedStyle {
  name: string;
  what: string;
  apply: UserStyle;
}

const CENTRE = (IMAGE_SIZE - 1) / 2;

/** Bilinear sample of `pixels` at (row, col); outside the image is 0 (background). */
function sample(pixels: ArrayLike<number>, row: number, col: number): number {
  const r0 = Math.floor(row);
  const c0 = Math.floor(col);
  const fr = row - r0;
  const fc = col - c0;
  const at = (r: number, c: number): number =>
    r < 0 || c < 0 || r >= IMAGE_SIZE || c >= IMAGE_SIZE ? 0 : (pixels[r * IMAGE_SIZE + c] as number);
  return (
    (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c0 + 1)) +
    fr * ((1 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1))
  );
}

/**
 * The image under an affine map about the centre: output pixel p takes input `m·(p − centre) +
 * centre − shift`, where `m = [a, b, c, d]` maps output offsets (row, col) to input offsets.
 *
 * @example
 * const rotated = warp(pixels, rotation(Math.PI / 6));
 */
export function warp(pixels: ArrayLike<number>, m: readonly [number, number, number, number], shift = [0, 0]) {
  const out = new Float32Array(PIXELS);
  const [a, b, c, d] = m;
  const [sr = 0, sc = 0] = shift;
  for (let row = 0; row < IMAGE_SIZE; row++) {
    for (let col = 0; col < IMAGE_SIZE; col++) {
      const y = row - CENTRE - sr;
      const x = col - CENTRE - sc;
      out[row * IMAGE_SIZE + col] = sample(pixels, a * y + b * x + CENTRE, c * y + d * x + CENTRE);
    }
  }
  return out;
}

/** The inverse map of a rotation by `angle` radians (clockwise on screen for positive angles). */
export function rotation(angle: number): [number, number, number, number] {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  return [cos, sin, -sin, cos];
}

/** The inverse map of a uniform scale by `factor` (below 1: smaller digits). */
export const scaling = (factor: number): [number, number, number, number] => [1 / factor, 0, 0, 1 / factor];

/** The inverse map of a horizontal shear (slant): rows lower down move right by `k` per row. */
export const shearing = (k: number): [number, number, number, number] => [1, 0, -k, 1];

/** Each pixel takes the darkest value of its 3×3 neighbourhood (grey erosion): a thinner pen. */
export function thinStrokes(pixels: ArrayLike<number>): Float32Array {
  const out = new Float32Array(PIXELS);
  for (let row = 0; row < IMAGE_SIZE; row++) {
    for (let col = 0; col < IMAGE_SIZE; col++) {
      let darkest = 1;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          if (Math.abs(dr) + Math.abs(dc) > 1) continue; // a cross, so strokes thin without vanishing
          const r = row + dr;
          const c = col + dc;
          const value =
            r < 0 || c < 0 || r >= IMAGE_SIZE || c >= IMAGE_SIZE ? 0 : (pixels[r * IMAGE_SIZE + c] as number);
          darkest = Math.min(darkest, value);
        }
      }
      out[row * IMAGE_SIZE + col] = darkest;
    }
  }
  return out;
}

/** A 5×5 binomial blur: a soft, out-of-focus pen. */
export function blur(pixels: ArrayLike<number>): Float32Array {
  const weights = [1, 4, 6, 4, 1];
  const pass = (input: ArrayLike<number>, horizontal: boolean): Float32Array => {
    const out = new Float32Array(PIXELS);
    for (let row = 0; row < IMAGE_SIZE; row++) {
      for (let col = 0; col < IMAGE_SIZE; col++) {
        let sum = 0;
        for (let k = -2; k <= 2; k++) {
          const r = horizontal ? row : row + k;
          const c = horizontal ? col + k : col;
          if (r < 0 || c < 0 || r >= IMAGE_SIZE || c >= IMAGE_SIZE) continue;
          sum += (weights[k + 2] as number) * (input[r * IMAGE_SIZE + c] as number);
        }
        out[row * IMAGE_SIZE + col] = sum / 16;
      }
    }
    return out;
  };
  const blurred = pass(pass(pixels, true), false);
  // Re-stretch so the brightest ink is as bright as before: a blur, not a dimmer.
  let max = 0;
  for (const value of blurred) max = Math.max(max, value);
  return max > 0 ? blurred.map((value) => Math.min(1, value / max)) : blurred;
}

/** Mirror image, left to right. */
export function mirror(pixels: ArrayLike<number>): Float32Array {
  const out = new Float32Array(PIXELS);
  for (let row = 0; row < IMAGE_SIZE; row++) {
    for (let col = 0; col < IMAGE_SIZE; col++)
      out[row * IMAGE_SIZE + col] = pixels[row * IMAGE_SIZE + (IMAGE_SIZE - 1 - col)] as number;
  }
  return out;
}

/** Ink at `level` of full brightness: a faint pen or a dim scan. */
export const faint = (level: number) => (pixels: ArrayLike<number>) =>
  Float32Array.from({ length: PIXELS }, (_, i) => level * (pixels[i] as number));

/** Random specks on the background: a dirty scan (each pixel brightened by noise with probability `p`). */
export const specks =
  (p: number): UserStyle =>
  (pixels, random) =>
    Float32Array.from({ length: PIXELS }, (_, i) => {
      const value = pixels[i] as number;
      return random() < p ? Math.min(1, value + 0.3 + 0.7 * random()) : value;
    });

/**
 * Every style the tests and the bench fine-tune on: distortions the upright-trained model
 * handles badly to varying degrees. None is used by the model's own training.
 */
export const USER_STYLES: readonly NamedStyle[] = [
  { name: 'quarter-turn', what: 'digits turned 90° clockwise', apply: (p) => rotateQuarter(p) },
  { name: 'tilted', what: 'digits rotated 35° counter-clockwise', apply: (p) => warp(p, rotation(-0.61)) },
  { name: 'slanted', what: 'a strong italic slant (shear 0.6)', apply: (p) => warp(p, shearing(0.6)) },
  {
    name: 'small-corner',
    what: 'small digits (0.55×) written in the top-left corner',
    apply: (p) => warp(p, scaling(0.55), [-6, -6]),
  },
  {
    name: 'wide',
    what: 'digits stretched 1.6× wide and squashed to 0.75× high',
    apply: (p) => warp(p, [1 / 0.75, 0, 0, 1 / 1.6]),
  },
  { name: 'mirrored', what: 'digits written mirror-wise', apply: (p) => mirror(p) },
  { name: 'inverted', what: 'dark ink on a light background', apply: (p) => invertIntensities(p) },
  { name: 'bold', what: 'a thick pen (grey dilation, twice)', apply: (p) => thickenStrokes(thickenStrokes(p)) },
  { name: 'thin-faint', what: 'a thin, faint pen (erosion, 45% ink)', apply: (p) => faint(0.45)(thinStrokes(p)) },
  { name: 'blurred', what: 'a soft pen, out of focus (5×5 blur twice)', apply: (p) => blur(blur(p)) },
  { name: 'dirty-scan', what: 'bright specks on 12% of the background', apply: specks(0.12) },
];

/**
 * The named style, or an error listing the names.
 *
 * @example
 * const tilted = userStyle('tilted').apply(pixels, Math.random);
 */
export function userStyle(name: string): NamedStyle {
  const style = USER_STYLES.find((s) => s.name === name);
  if (!style) throw new Error(`unknown user style ${name}: one of ${USER_STYLES.map((s) => s.name).join(', ')}`);
  return style;
}
