import { EdgeloopError } from '../../protocol/errors.ts';
import type { ModelJson } from '../../protocol/model-json.ts';

/** Where each weight of model.json lies in an update: its first value and value count, by name. */
export interface WeightLayout {
  weights: Map<string, { offset: number; size: number }>;
  /** All values, in weightsManifest order (what `round.weights.values` counts). */
  values: number;
}

/**
 * The update's layout: every weight of model.json's weightsManifest in order, float32 each (the
 * edge adds the delta to the base's weights file value by value). Quantized or non-float32
 * weights cannot be: UNSUPPORTED_MODEL.
 *
 * @example
 * weightLayout(modelJson).weights.get('dense_Dense1/kernel'); // { offset: 4800, size: 25600 }
 */
export function weightLayout(modelJson: ModelJson): WeightLayout {
  const weights = new Map<string, { offset: number; size: number }>();
  let values = 0;
  for (const entry of modelJson.weightsManifest.flatMap((group) => group.weights)) {
    if (entry.dtype !== 'float32' || 'quantization' in entry) {
      throw new EdgeloopError(
        'UNSUPPORTED_MODEL',
        `weight ${entry.name} is ${entry.dtype}${'quantization' in entry ? ' (quantized)' : ''}: a federated update needs float32 weights`,
      );
    }
    const size = entry.shape.reduce((a, b) => a * b, 1);
    weights.set(entry.name, { offset: values, size });
    values += size;
  }
  return { weights, values };
}

/** One trained weight: its model.json name, the base's values and the fine-tuned ones. */
export interface TrainedWeight {
  name: string;
  base: Float32Array;
  trained: Float32Array;
}

/**
 * The update: fine-tuned − base for each trained weight at its place in the layout, 0 for every
 * weight that was not trained. A string says why it cannot be laid out (a name model.json does
 * not list, or another size).
 *
 * @example
 * const delta = weightDelta(layout, [{ name: 'dense_Dense2/bias', base, trained }]);
 */
export function weightDelta(layout: WeightLayout, trained: readonly TrainedWeight[]): Float32Array | string {
  const delta = new Float32Array(layout.values);
  for (const weight of trained) {
    const at = layout.weights.get(weight.name);
    if (!at) return `model.json lists no weight ${weight.name}`;
    if (at.size !== weight.trained.length || at.size !== weight.base.length) {
      return `weight ${weight.name} has ${weight.trained.length} values, model.json ${at.size}`;
    }
    for (let i = 0; i < at.size; i++) delta[at.offset + i] = (weight.trained[i] as number) - (weight.base[i] as number);
  }
  return delta;
}

/**
 * Scales `delta` in place to an L2 norm of at most `clipNorm` (over the whole vector) and
 * returns its norm before. A delta that is not finite (a fit that diverged) is INTERNAL.
 *
 * @example
 * clipDelta(Float32Array.of(3, 4), 1); // { norm: 5, clipped: true }, delta now [0.6, 0.8]
 */
export function clipDelta(delta: Float32Array, clipNorm: number): { norm: number; clipped: boolean } {
  let squares = 0;
  for (const value of delta) squares += value * value;
  const norm = Math.sqrt(squares);
  if (!Number.isFinite(norm)) throw new EdgeloopError('INTERNAL', 'the local fit diverged: its delta is not finite');
  if (norm <= clipNorm) return { norm, clipped: false };
  // A hair under: float32 rounding of each value must not leave the norm above clipNorm.
  const scale = (clipNorm / norm) * (1 - 1e-6);
  for (let i = 0; i < delta.length; i++) delta[i] = (delta[i] as number) * scale;
  return { norm, clipped: true };
}

/**
 * The body of an update: float32 little-endian values (whatever the platform's byte order).
 *
 * @example
 * float32Bytes(Float32Array.of(1)); // Uint8Array [0, 0, 128, 63]
 */
export function float32Bytes(values: Float32Array): Uint8Array<ArrayBuffer> {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((value, i) => {
    view.setFloat32(i * 4, value, true);
  });
  return new Uint8Array(view.buffer);
}
