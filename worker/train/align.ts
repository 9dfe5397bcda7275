import * as tf from '@tensorflow/tfjs-core';
import type { InputAlignment } from '../../protocol/worker-api.ts';
import { type AffineMap, bilinearSampling, resample, type Sampling } from './sampling.ts';

/**
 * A user's inputs often differ from the model's usual ones by one transformation of the whole
 * image: slanted, turned, mirrored, small in a corner, faint, bold, soft, grainy, dark on light.
 * A personal head on the frozen features cannot undo those (the features of a turned digit are
 * not a turned digit's features); an alignment can: one affine map and one intensity map (with
 * a pen width and a focus), shared by all of the user's inputs, put in front of the registry
 * model's own feature layers. It has ten numbers and a symmetry, so a few labels find it, and
 * it is chosen by the registry model itself: the map under which the model gives the user's
 * labels the highest likelihood (align-search.ts), found from forward passes alone.
 */
export type Alignment = InputAlignment;

/** An alignment's continuous parameters, in order (`params`). */
export const PARAMETERS = [
  'rotation',
  'logScaleX',
  'logScaleY',
  'shear',
  'shiftX',
  'shiftY',
  'logGain',
  'offset',
  'pen',
  'blur',
] as const;
/** The dihedral symmetries as 2×2 maps of (x, y) offsets: 0 identity, 1–3 quarter turns, 4–7 mirrors. */
const SYMMETRIES: readonly (readonly [number, number, number, number])[] = [
  [1, 0, 0, 1],
  [0, -1, 1, 0],
  [-1, 0, 0, -1],
  [0, 1, -1, 0],
  [-1, 0, 0, 1],
  [1, 0, 0, -1],
  [0, 1, 1, 0],
  [0, -1, -1, 0],
];

/** The affine part as a map of pixel coordinates: input = S·R·Shear·Scale·(out − centre) + centre + shift. */
export function transformOf(alignment: Alignment, height: number, width: number): AffineMap {
  const [rotation = 0, logScaleX = 0, logScaleY = 0, shear = 0, shiftX = 0, shiftY = 0] = alignment.params;
  const [a, b, c, d] = SYMMETRIES[alignment.symmetry] ?? [1, 0, 0, 1];
  const cos = Math.cos(rotation);
  const sin = Math.sin(rotation);
  const sx = Math.exp(logScaleX);
  const sy = Math.exp(logScaleY);
  const m00 = cos * sx;
  const m01 = (cos * shear - sin) * sy;
  const m10 = sin * sx;
  const m11 = (sin * shear + cos) * sy;
  const n00 = a * m00 + b * m10;
  const n01 = a * m01 + b * m11;
  const n10 = c * m00 + d * m10;
  const n11 = c * m01 + d * m11;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  return [n00, n01, cx - n00 * cx - n01 * cy + shiftX * width, n10, n11, cy - n10 * cx - n11 * cy + shiftY * height];
}

const samplings = new WeakMap<Alignment, Sampling>();

/** The sampling of `alignment` on `[height, width]` images, kept per alignment (served models reuse it). */
function samplingOf(alignment: Alignment, height: number, width: number): Sampling {
  const known = samplings.get(alignment);
  if (known && known.indices.length === 4 * height * width) return known;
  const sampling = bilinearSampling(transformOf(alignment, height, width), height, width);
  samplings.set(alignment, sampling);
  return sampling;
}

/**
 * The intensity part: invert within the range; then the pen (toward a 3×3 dilation when > 0, an
 * erosion when < 0) and the focus (toward the 3×3 mean when > 0, away from it, sharper, when < 0),
 * each a mix in [-1, 1]; then gain and offset, clipped to the range. Alignments stored before the
 * pen and focus existed have eight numbers: both 0.
 */
export function intensityOf(alignment: Alignment) {
  const [lo, hi] = alignment.range;
  const mix = (value: number | undefined) => Math.max(-1, Math.min(1, value ?? 0));
  return {
    invert: alignment.invert,
    lo,
    hi,
    pen: mix(alignment.params[8]),
    blur: mix(alignment.params[9]),
    gain: Math.exp(alignment.params[6] ?? 0),
    offset: (alignment.params[7] ?? 0) * (hi - lo),
  };
}

/**
 * Inputs [n, height, width, channels] as the alignment sees them: intensities first (inverted
 * within the model's input range when `invert`, the pen and focus, then gain and offset, clipped
 * to the range), then the affine map (bilinear, edges replicated so a background stays a
 * background), built of gathers: all of it has a gradient (integrated gradients explain a
 * personal model through it).
 *
 * @example
 * const aligned = tf.tidy(() => alignInputs(x, alignment));
 */
export function alignInputs(x: tf.Tensor4D, alignment: Alignment): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, height, width, channels] = x.shape;
    const { invert, lo, hi, pen, blur, gain, offset } = intensityOf(alignment);
    let values: tf.Tensor4D = invert ? tf.sub(lo + hi, x) : x;
    if (pen !== 0) {
      const dilated = (v: tf.Tensor4D) => tf.maxPool(v, 3, 1, 'same');
      const morphed = pen > 0 ? dilated(values) : tf.neg(dilated(tf.neg(values)));
      values = tf.add(values, tf.mul(Math.abs(pen), tf.sub(morphed, values)));
    }
    if (blur !== 0) values = tf.add(values, tf.mul(blur, tf.sub(tf.avgPool(values, 3, 1, 'same'), values)));
    const intensities = tf.clipByValue(tf.add(tf.mul(values, gain), offset), lo, hi);
    const pixels = height * width;
    const { indices, weights } = samplingOf(alignment, height, width);
    const corners = tf.mul(
      tf.gather(tf.reshape(intensities, [n, pixels, channels]), tf.tensor1d(indices, 'int32'), 1),
      tf.tensor3d(weights, [1, 4 * pixels, 1]),
    );
    return tf.reshape(tf.sum(tf.reshape(corners, [n, 4, pixels, channels]), 1), [n, height, width, channels]);
  });
}

/**
 * `to = from + amount · (f(3×3 neighbourhood) − from)` per pixel and channel, the neighbourhood
 * the pixels inside the image (as tfjs's 'same' pooling): max, min or mean, computed as a pass
 * along rows and one along columns (both are separable).
 */
function mixNeighbourhood(
  from: Float32Array,
  to: Float32Array,
  [height, width, channels]: readonly [number, number, number],
  kind: 'max' | 'min' | 'mean',
  amount: number,
): void {
  const max = kind === 'max';
  const min = kind === 'min';
  const pick = (a: number, b: number) => (max ? Math.max(a, b) : min ? Math.min(a, b) : a + b);
  const rows = new Float32Array(from.length);
  const rowStride = width * channels;
  for (let i = 0; i < from.length; i++) {
    const col = Math.floor(i / channels) % width;
    let value = from[i] as number;
    if (col > 0) value = pick(value, from[i - channels] as number);
    if (col < width - 1) value = pick(value, from[i + channels] as number);
    rows[i] = value;
  }
  for (let i = 0; i < from.length; i++) {
    const pixel = Math.floor(i / channels);
    const col = pixel % width;
    const row = Math.floor(pixel / width);
    let value = rows[i] as number;
    if (row > 0) value = pick(value, rows[i - rowStride] as number);
    if (row < height - 1) value = pick(value, rows[i + rowStride] as number);
    if (!max && !min) {
      const across = (row > 0 ? 1 : 0) + 1 + (row < height - 1 ? 1 : 0);
      value /= across * ((col > 0 ? 1 : 0) + 1 + (col < width - 1 ? 1 : 0));
    }
    const own = from[i] as number;
    to[i] = own + amount * (value - own);
  }
}

/**
 * The first stage of {@link alignValues}: `count` inputs inverted, with the pen and focus
 * applied, before gain, offset and the affine map. The search keeps it per inversion, pen and
 * focus: most of its candidates share them.
 */
export function penAndFocus(
  alignment: Alignment,
  inputs: Float32Array,
  count: number,
  shape: readonly number[],
): Float32Array {
  const [height = 1, width = 1, channels = 1] = shape;
  const size = height * width * channels;
  const { invert, lo, hi, pen, blur } = intensityOf(alignment);
  const out = new Float32Array(count * size);
  let values = new Float32Array(size);
  let spare = new Float32Array(size);
  const dims = [height, width, channels] as const;
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < size; k++) {
      const value = inputs[i * size + k] as number;
      values[k] = invert ? lo + hi - value : value;
    }
    if (pen !== 0) {
      mixNeighbourhood(values, spare, dims, pen > 0 ? 'max' : 'min', Math.abs(pen));
      [values, spare] = [spare, values];
    }
    if (blur !== 0) {
      mixNeighbourhood(values, spare, dims, 'mean', blur);
      [values, spare] = [spare, values];
    }
    out.set(values, i * size);
  }
  return out;
}

/**
 * {@link alignInputs} on values in JavaScript: `count` inputs of `shape` into `out`, from
 * `inputs` or from their {@link penAndFocus} stage when given. The search aligns a few labels
 * under hundreds of candidate maps, and a table lookup per pixel here costs a fraction of a
 * tensor op per candidate on wasm.
 *
 * @example
 * alignValues(alignment, labelsInputs, 16, [28, 28, 1], batch.subarray(k * 16 * 784));
 */
export function alignValues(
  alignment: Alignment,
  inputs: Float32Array,
  count: number,
  shape: readonly number[],
  out: Float32Array,
  staged: Float32Array = penAndFocus(alignment, inputs, count, shape),
): void {
  const [height = 1, width = 1, channels = 1] = shape;
  const size = height * width * channels;
  const { lo, hi, gain, offset } = intensityOf(alignment);
  const sampling = samplingOf(alignment, height, width);
  const values = new Float32Array(size);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < size; k++) {
      values[k] = Math.min(hi, Math.max(lo, (staged[i * size + k] as number) * gain + offset));
    }
    resample(sampling, values, out.subarray(i * size, (i + 1) * size), channels);
  }
}

/** No alignment at all, for inputs in `range`. */
export function identityAlignment(range: readonly [number, number]): Alignment {
  return { symmetry: 0, invert: false, params: PARAMETERS.map(() => 0), range: [range[0], range[1]] };
}

/**
 * The alignment in words, for the training result's note: how the user's inputs differ from
 * the model's usual ones (sizes, shifts and ink relative to them).
 *
 * @example
 * describeAlignment(a); // 'turned a quarter, inverted, 0.55× as wide and 0.55× as high, ink 0.5× as bright'
 */
export function describeAlignment(alignment: Alignment): string {
  const [rotation = 0, logScaleX = 0, logScaleY = 0, shear = 0, shiftX = 0, shiftY = 0, logGain = 0] = alignment.params;
  const parts: string[] = [];
  const symmetry = [
    '',
    'turned a quarter',
    'turned half',
    'turned three quarters',
    'mirrored',
    'flipped',
    'transposed',
    'transposed the other way',
  ][alignment.symmetry];
  if (symmetry) parts.push(symmetry);
  if (alignment.invert) parts.push('inverted');
  if (Math.abs(rotation) > 0.02) parts.push(`rotated ${((rotation * 180) / Math.PI).toFixed(0)}°`);
  if (Math.abs(shear) > 0.02) parts.push(`sheared ${shear.toFixed(2)}`);
  if (Math.abs(logScaleX) > 0.02 || Math.abs(logScaleY) > 0.02)
    parts.push(`${Math.exp(logScaleX).toFixed(2)}× as wide and ${Math.exp(logScaleY).toFixed(2)}× as high`);
  if (Math.abs(shiftX) > 0.01 || Math.abs(shiftY) > 0.01)
    parts.push(`off centre by ${(shiftX * 100).toFixed(0)}% across, ${(shiftY * 100).toFixed(0)}% down`);
  if (Math.abs(logGain) > 0.02) parts.push(`ink ${Math.exp(-logGain).toFixed(1)}× as bright`);
  const { pen, blur } = intensityOf(alignment);
  if (Math.abs(pen) > 0.05) parts.push(pen < 0 ? 'a bolder pen' : 'a thinner pen');
  if (Math.abs(blur) > 0.05) parts.push(blur > 0 ? 'grainier (smoothed)' : 'softer (sharpened)');
  return parts.length > 0 ? parts.join(', ') : 'unchanged';
}
