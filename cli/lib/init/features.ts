import type { FeatureSpec, TensorSpec } from '../../../protocol/manifest.ts';

// The drift features `edgeloop init` gives a model by the kind of each input, computed the same
// way on the device and at the edge (protocol/profile/features.ts). The outputs' drift
// (predicted classes or values) is tracked without any.

/** Flat inputs up to this many values are watched element by element; longer ones by summaries. */
const MAX_INDEXED = 16;

/** The channel axis of an image input [-1, H, W, C] (3) or [-1, C, H, W] (1), else null. */
export function channelAxis(shape: readonly number[]): 1 | 3 | null {
  if (shape.length !== 4) return null;
  const channels = (d: number | undefined) => d !== undefined && d >= 1 && d <= 4;
  if (channels(shape[3])) return 3;
  return channels(shape[1]) ? 1 : null;
}

const numeric = (name: string, source: FeatureSpec['source']): FeatureSpec => ({ name, kind: 'numeric', source });

/**
 * Drift features for a model whose first input is `input`: an image's mean, spread and
 * per-channel mean (NHWC or NCHW); a short vector's elements; a long input's mean, spread and
 * norm. None for booleans and integer ids (their summaries mean nothing).
 *
 * @example
 * driftFeatures({ name: 'image', dtype: 'float32', shape: [-1, 224, 224, 3] }).map((f) => f.name);
 * // ['mean', 'std', 'channel_0_mean', 'channel_1_mean', 'channel_2_mean']
 */
export function driftFeatures(input: TensorSpec): FeatureSpec[] {
  const { shape, dtype } = input;
  const axis = channelAxis(shape);
  if (dtype === 'bool' || ((dtype === 'int32' || dtype === 'int64') && axis === null)) return [];
  if (axis !== null) {
    const channels = shape[axis] ?? 1;
    const perChannel =
      channels > 1
        ? Array.from({ length: channels }, (_, c) =>
            numeric(`channel_${c}_mean`, { stat: 'mean', channel: c, ...(axis === 1 ? { axis } : {}) }),
          )
        : [];
    return [numeric('mean', { stat: 'mean' }), numeric('std', { stat: 'std' }), ...perChannel];
  }
  const size = shape.slice(1).reduce((n, d) => n * d, 1);
  if (shape.length <= 2 && size > 0 && size <= MAX_INDEXED) {
    return Array.from({ length: size }, (_, i) => numeric(`${input.name}_${i}`, { index: i }));
  }
  return [numeric('mean', { stat: 'mean' }), numeric('std', { stat: 'std' }), numeric('l2', { stat: 'l2' })];
}

/**
 * Drift features for every input of a model: the first input's as {@link driftFeatures} names
 * them, each further input's with its name in front and its source naming it.
 *
 * @example
 * modelDriftFeatures([image, { name: 'age', dtype: 'float32', shape: [-1, 1] }]).map((f) => f.name);
 * // ['mean', 'std', 'channel_0_mean', …, 'age_0']
 */
export function modelDriftFeatures(inputs: readonly TensorSpec[]): FeatureSpec[] {
  return inputs.flatMap((input, i) =>
    i === 0
      ? driftFeatures(input)
      : driftFeatures(input).map((f) => ({
          ...f,
          name: f.name.startsWith(`${input.name}_`) ? f.name : `${input.name}_${f.name}`,
          ...(f.source ? { source: { ...f.source, input: input.name } } : {}),
        })),
  );
}
