import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { InputAlignment } from '../../protocol/worker-api.ts';
import { onBackend } from '../backends/errors.ts';
import type { Examples } from './examples.ts';
import { yieldToEvents } from './fit.ts';
import { type AffineMap, bilinearSampling, resample, type Sampling } from './sampling.ts';

/**
 * A user's inputs often differ from the model's usual ones by one transformation of the whole
 * image: slanted, turned, mirrored, small in a corner, faint, bold, soft, grainy, dark on light.
 * A personal head on the frozen features cannot undo those (the features of a turned digit are
 * not a turned digit's features); an alignment can: one affine map and one intensity map (with
 * a pen width and a focus), shared by all of the user's inputs, put in front of the registry
 * model's own feature layers. It has ten numbers and a symmetry, so a few labels find it, and it is chosen by the registry model itself: the map
 * under which the model gives the user's labels the highest likelihood (search, below), found
 * from forward passes alone (about a hundred and twenty candidate maps, scored in batches).
 */
export type Alignment = InputAlignment;

/** Continuous parameters, in order, and the first step of the search for each. */
const PARAMETERS = [
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
const FIRST_STEPS = [0.25, 0.15, 0.15, 0.25, 0.07, 0.07, 0.4, 0.1, 0.5, 0.5];
const OFFSET = PARAMETERS.indexOf('offset');
const BLUR = PARAMETERS.indexOf('blur');
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
/** Labels the search scores on at most (evenly spread), and its rounds of refinement. */
const SEARCH_EXAMPLES = 16;
const ROUNDS = 5;
const REFINING_ROUNDS = 2;
/** Inputs per forward pass of the search (256 ran faster per input than 128 or 512 on wasm). */
const BATCH = 256;
/** Mean log-likelihood per label an alignment must gain over none to be used (nats). */
const MIN_GAIN = 0.05;

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
function intensityOf(alignment: Alignment) {
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

/** Where the ink is and how far it spreads, averaged over images (after subtracting each image's background). */
export interface InkMoments {
  x: number;
  y: number;
  spread: number;
}

/**
 * The mean ink centre (fractions of width and height) and spread (mean distance from the centre,
 * in widths) of images, ink being each pixel's amount above the image's own darkest (or, with
 * `invert`, below its brightest), summed over channels.
 */
export function inkMoments(inputs: Float32Array, count: number, shape: readonly number[], invert: boolean): InkMoments {
  const [height = 1, width = 1, channels = 1] = shape;
  const size = height * width * channels;
  let mx = 0;
  let my = 0;
  let spread = 0;
  let images = 0;
  for (let i = 0; i < count; i++) {
    const image = inputs.subarray(i * size, (i + 1) * size);
    let floor = Number.POSITIVE_INFINITY;
    let ceiling = Number.NEGATIVE_INFINITY;
    for (const value of image) {
      floor = Math.min(floor, value);
      ceiling = Math.max(ceiling, value);
    }
    const ink = (k: number) => (invert ? ceiling - (image[k] as number) : (image[k] as number) - floor);
    let total = 0;
    let sx = 0;
    let sy = 0;
    for (let k = 0; k < size; k++) {
      const pixel = Math.floor(k / channels);
      const w = ink(k);
      total += w;
      sx += w * (pixel % width);
      sy += w * Math.floor(pixel / width);
    }
    if (total <= 0) continue;
    const cx = sx / total;
    const cy = sy / total;
    let squares = 0;
    for (let k = 0; k < size; k++) {
      const pixel = Math.floor(k / channels);
      squares += ink(k) * (((pixel % width) - cx) ** 2 + (Math.floor(pixel / width) - cy) ** 2);
    }
    mx += cx / width;
    my += cy / height;
    spread += Math.sqrt(squares / total) / width;
    images++;
  }
  const n = Math.max(1, images);
  return { x: mx / n, y: my / n, spread: spread / n };
}

/** What a search needs from the loaded version: its model, input shape, range and usual ink. */
export interface AlignmentBasis {
  model: tfl.LayersModel;
  inputShape: number[];
  range: [number, number];
  reference: InkMoments;
}

/**
 * The alignment under which the registry model gives `examples` their labels the highest mean
 * (weighted) log-likelihood, or null when none beats no alignment by MIN_GAIN nats per label.
 * Starts from every symmetry (quarter turns only for square images), inverted or not, and from
 * the map that moves the user's mean ink centre and spread onto the model's usual ones; then
 * refines the best start by compass search (each parameter up and down a step, steps halving
 * when nothing improves). Given `near` (the alignments of earlier searches on subsets of the
 * same labels), it starts from those instead, with finer steps and fewer rounds. Checks `signal`
 * between rounds.
 *
 * @example
 * const alignment = await searchAlignment(basis, examples, weights, signal); // null: leave inputs as they are
 */
export async function searchAlignment(
  basis: AlignmentBasis,
  examples: Examples,
  weights: Float32Array,
  signal: AbortSignal,
  near: readonly (Alignment | null)[] = [],
): Promise<Alignment | null> {
  const [height = 1, width = 1, channels = 1] = basis.inputShape;
  const chosen = spread(examples.count, SEARCH_EXAMPLES);
  const size = examples.size;
  const inputs = new Float32Array(chosen.length * size);
  chosen.forEach((i, k) => {
    inputs.set(examples.inputs.subarray(i * size, (i + 1) * size), k * size);
  });
  const labels = chosen.map((i) => examples.labels[i] as number);
  const w = chosen.map((i) => weights[i] as number);
  const totalWeight = w.reduce((a, b) => a + b, 0) || 1;
  const perBatch = Math.max(1, Math.floor(BATCH / chosen.length));
  const batch = new Float32Array(perBatch * inputs.length);
  // Candidates' inputs after inversion, pen and focus, by those three (most candidates share them).
  const staged = new Map<string, Float32Array>();
  const score = async (candidates: Alignment[]): Promise<number[]> => {
    const scores: number[] = [];
    for (let at = 0; at < candidates.length; at += perBatch) {
      const block = candidates.slice(at, at + perBatch);
      const count = block.length * chosen.length;
      block.forEach((alignment, b) => {
        const { invert, pen, blur } = intensityOf(alignment);
        const key = `${invert}|${pen}|${blur}`;
        const known = staged.get(key) ?? penAndFocus(alignment, inputs, chosen.length, basis.inputShape);
        staged.set(key, known);
        alignValues(alignment, inputs, chosen.length, basis.inputShape, batch.subarray(b * inputs.length), known);
      });
      const probabilities = await onBackend('align', async () => {
        const out = tf.tidy(() => {
          const x = tf.tensor4d(batch.subarray(0, count * size), [count, height, width, channels]);
          return basis.model.predict(x, { batchSize: count }) as tf.Tensor;
        });
        try {
          return (await out.data()) as Float32Array;
        } finally {
          out.dispose();
        }
      });
      const classes = probabilities.length / (block.length * chosen.length);
      for (let b = 0; b < block.length; b++) {
        let sum = 0;
        for (let i = 0; i < chosen.length; i++) {
          const p = probabilities[(b * chosen.length + i) * classes + (labels[i] as number)] as number;
          sum += (w[i] as number) * Math.log(Math.max(1e-6, p));
        }
        scores.push(sum / totalWeight);
      }
    }
    return scores;
  };
  // Near earlier searches of (subsets of) the same labels: start there, with finer steps.
  const refining = near.length > 0;
  const starts = refining
    ? [identityAlignment(basis.range), ...near.filter((a): a is Alignment => a !== null)]
    : startingPoints(basis, inputs, chosen.length, height === width);
  const startScores = await score(starts);
  const identityScore = startScores[0] as number;
  let bestScore = Math.max(...startScores);
  let best = starts[startScores.indexOf(bestScore)] as Alignment;
  let steps = FIRST_STEPS.map((step) => (refining ? step / 4 : step));
  for (let round = 0; round < (refining ? REFINING_ROUNDS : ROUNDS); round++) {
    await yieldToEvents(signal);
    const move = (changes: [number, number][]) => ({
      ...best,
      params: best.params.map((p, k) => p + changes.reduce((d, [j, by]) => d + (j === k ? by : 0), 0)),
    });
    const neighbours = [
      ...PARAMETERS.flatMap((_, j) => [1, -1].map((sign) => move([[j, sign * (steps[j] as number)]]))),
      // Smoothing helps specks only with the floor cut after it (and sharpening with it raised):
      // neither step alone does, so they are tried together too.
      ...[1, -1].map((sign) =>
        move([
          [BLUR, sign * (steps[BLUR] as number)],
          [OFFSET, -sign * (steps[OFFSET] as number)],
        ]),
      ),
    ];
    const scores = await score(neighbours);
    const top = Math.max(...scores);
    if (top > bestScore + 1e-3) {
      bestScore = top;
      best = neighbours[scores.indexOf(top)] as Alignment;
    } else {
      steps = steps.map((s) => s / 2);
    }
  }
  return bestScore - identityScore >= MIN_GAIN ? best : null;
}

/** Indexes of `count` items, at most `most`, spread evenly. */
function spread(count: number, most: number): number[] {
  if (count <= most) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: most }, (_, k) => Math.floor((k * count) / most));
}

/** Every symmetry, inverted or not (identity first), and the ink-moment match of each polarity. */
function startingPoints(basis: AlignmentBasis, inputs: Float32Array, count: number, square: boolean): Alignment[] {
  const identity = identityAlignment(basis.range);
  const starts: Alignment[] = [];
  for (let symmetry = 0; symmetry < (square ? 8 : 4); symmetry++) {
    // Without square images only the symmetries that keep the shape: identity, half turn, mirrors.
    const s = square ? symmetry : ([0, 2, 4, 5][symmetry] as number);
    for (const invert of [false, true]) starts.push({ ...identity, symmetry: s, invert });
  }
  for (const invert of [false, true]) {
    const user = inkMoments(inputs, count, basis.inputShape, invert);
    const scale = Math.log(Math.max(0.2, Math.min(5, user.spread / Math.max(1e-6, basis.reference.spread))));
    starts.push({
      ...identity,
      invert,
      params: [0, scale, scale, 0, user.x - basis.reference.x, user.y - basis.reference.y, 0, 0, 0, 0],
    });
  }
  return starts;
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
