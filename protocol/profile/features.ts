import type { FeatureSource, Manifest } from '../manifest.ts';
import type { ProfileRow } from './schema.ts';

/** Pixel value from which `ink` counts a value as inked, when the source names no threshold. */
export const DEFAULT_INK_THRESHOLD = 0.5;

/**
 * The features of one example that the manifest says how to compute (those with a `source`),
 * from the model's inputs as flat row-major arrays: the first input's values, or every input by
 * name. A feature reads its source's `input` (default the first). Features without a source are
 * the app's to supply. A statistic that is undefined for this input (the centroid of an all-zero
 * image, an index past the end, an input not given) is null, which profiles count as missing.
 *
 * @example
 * extractFeatures(manifest, pixels); // { ink: 0.19, mean_intensity: 0.13, centroid_x: 0.5, centroid_y: 0.48 }
 * extractFeatures(manifest, { image: pixels, ids: Float32Array.of(3) }); // features of either input
 */
export function extractFeatures(
  manifest: Pick<Manifest, 'inputs' | 'features'>,
  input: Float32Array | Readonly<Record<string, Float32Array>>,
): ProfileRow {
  const row: Record<string, number | null> = {};
  const first = manifest.inputs[0]?.name;
  for (const feature of manifest.features.features) {
    if (!feature.source) continue;
    const name = feature.source.input ?? first;
    const spec = manifest.inputs.find((i) => i.name === name);
    const values = input instanceof Float32Array ? (name === first ? input : undefined) : name && input[name];
    row[feature.name] = values && spec ? compute(feature.source, values, spec.shape) : null;
  }
  return row;
}

function compute(source: FeatureSource, input: Float32Array, shape: readonly number[]): number | null {
  if ('index' in source) return source.index < input.length ? (input[source.index] as number) : null;
  const values = source.channel === undefined ? input : channelOf(input, shape, source.channel, source.axis);
  switch (source.stat) {
    case 'mean':
      return values?.length ? sum(values) / values.length : null;
    case 'std':
      return values ? std(values) : null;
    case 'l2':
      return Math.sqrt(squares(input));
    case 'ink':
      return inkShare(input, source.threshold ?? DEFAULT_INK_THRESHOLD);
    case 'centroid_x':
      return centroid(input, shape, 'x');
    case 'centroid_y':
      return centroid(input, shape, 'y');
  }
}

function squares(input: Float32Array): number {
  let total = 0;
  for (const x of input) total += x * x;
  return total;
}

/**
 * The elements of one channel of an input of `shape` (the batch axis first), along `axis`
 * (default the last); null when the input has no such channel.
 */
function channelOf(input: Float32Array, shape: readonly number[], channel: number, axis?: number): Float32Array | null {
  const at = axis ?? shape.length - 1;
  const channels = shape[at] ?? 0;
  if (at < 1 || at >= shape.length || channel >= channels) return null;
  // Elements after the channel axis form one run; channels repeat every `channels` runs. Free
  // sizes there (-1, e.g. NCHW of any height) are read off the input's length.
  const after = shape.slice(at + 1);
  const outer = shape.slice(1, at).reduce((n, d) => n * d, 1);
  const inner = after.some((d) => d < 0) ? input.length / (outer * channels) : after.reduce((n, d) => n * d, 1);
  if (!Number.isInteger(inner) || inner <= 0 || input.length % (channels * inner) !== 0) return null;
  const out = new Float32Array(input.length / channels);
  let k = 0;
  for (let start = channel * inner; start < input.length; start += channels * inner) {
    for (let i = 0; i < inner; i++) out[k++] = input[start + i] as number;
  }
  return out;
}

function sum(input: Float32Array): number {
  let total = 0;
  for (const x of input) total += x;
  return total;
}

function std(input: Float32Array): number | null {
  if (!input.length) return null;
  const mean = sum(input) / input.length;
  let squares = 0;
  for (const x of input) squares += (x - mean) ** 2;
  return Math.sqrt(squares / input.length);
}

function inkShare(input: Float32Array, threshold: number): number | null {
  if (!input.length) return null;
  let inked = 0;
  for (const x of input) if (x >= threshold) inked++;
  return inked / input.length;
}

/** Value-weighted centre along one axis of an NHWC image, as a share of its width or height. */
function centroid(input: Float32Array, shape: readonly number[], axis: 'x' | 'y'): number | null {
  const [, height, width, channels = 1] = shape;
  if (shape.length < 3 || !height || !width || height * width * channels !== input.length) return null;
  let total = 0;
  let weighted = 0;
  for (let i = 0; i < input.length; i++) {
    const x = input[i] as number;
    const pixel = Math.floor(i / channels);
    const position = axis === 'x' ? pixel % width : Math.floor(pixel / width);
    total += x;
    weighted += x * (position + 0.5);
  }
  if (total <= 0) return null;
  return weighted / total / (axis === 'x' ? width : height);
}
