import { argmax } from '../../../protocol/argmax.ts';
import { asFloat32, type Tensor } from '../../../protocol/oip-tensor.ts';

/** How a shadow's answer compared with the served one, over the rows of one request. */
export interface ShadowComparison {
  rows: number;
  /** Rows whose top class (argmax of the first output) agreed. */
  agreed: number;
  /** Largest absolute difference between the first outputs; null when their shapes differ. */
  maxAbsDiff: number | null;
}

/**
 * Compares the first output of the served version and of the shadow, row by row (the first
 * dimension is the batch): top-class agreement and the largest absolute difference. Outputs
 * of different shapes agree on no row.
 *
 * @example
 * compareOutputs({ shape: [1, 2], data: Float32Array.of(0.9, 0.1) }, { shape: [1, 2], data: Float32Array.of(0.6, 0.4) });
 * // { rows: 1, agreed: 1, maxAbsDiff: 0.3… }
 */
export function compareOutputs(served: Tensor, shadow: Tensor): ShadowComparison {
  const rows = served.shape[0] ?? 1;
  const same = served.shape.length === shadow.shape.length && served.shape.every((n, i) => shadow.shape[i] === n);
  if (!same) return { rows, agreed: 0, maxAbsDiff: null };
  const width = rows > 0 ? served.data.length / rows : 0;
  let agreed = 0;
  let maxAbsDiff = 0;
  for (let r = 0; r < rows; r++) {
    const a = asFloat32(served.data).subarray(r * width, (r + 1) * width);
    const b = asFloat32(shadow.data).subarray(r * width, (r + 1) * width);
    if (argmax(a) === argmax(b)) agreed++;
    for (let i = 0; i < width; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  }
  return { rows, agreed, maxAbsDiff };
}
