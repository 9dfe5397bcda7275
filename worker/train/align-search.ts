import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { onBackend } from '../backends/errors.ts';
import { type Alignment, alignValues, identityAlignment, intensityOf, PARAMETERS, penAndFocus } from './align.ts';
import type { Examples } from './examples.ts';
import { yieldToEvents } from './fit.ts';

// The search for a user's alignment (align.ts): the map under which the registry model gives
// the user's labels the highest likelihood, from forward passes alone (about a hundred and
// thirty candidate maps, scored in batches).

/** The first step of the search for each parameter (align.ts `PARAMETERS`). */
const FIRST_STEPS = [0.25, 0.15, 0.15, 0.25, 0.07, 0.07, 0.4, 0.1, 0.5, 0.5];
const OFFSET = PARAMETERS.indexOf('offset');
const BLUR = PARAMETERS.indexOf('blur');
/** Labels the search scores on at most (evenly spread), and its rounds of refinement. */
const SEARCH_EXAMPLES = 16;
const ROUNDS = 5;
const REFINING_ROUNDS = 2;
/** Inputs per forward pass of the search (256 ran faster per input than 128 or 512 on wasm). */
const BATCH = 256;
/** Mean log-likelihood per label an alignment must gain over none to be used (nats). */
const MIN_GAIN = 0.05;

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
