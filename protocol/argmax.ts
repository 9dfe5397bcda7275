/**
 * The index of the largest value, the first of equal ones (0 for an empty row): a classifier's
 * top class, read the same way by the worker, the edge and the profiles.
 *
 * @example
 * argmax([0.1, 0.7, 0.2]); // 1
 */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}
