import { EdgeloopError } from '../../protocol/errors.ts';

/** Most values one input may have: far above any model the script tag runs, below a tab-freezing copy. */
const MAX_VALUES = 1 << 24;

/**
 * The model's input as the worker takes it: the values of a numeric typed array, or of nested
 * arrays (rows of numbers or of typed arrays) in row-major order. Checked by hand rather than
 * with a valibot schema: a recursive schema would cost more than the loader's size budget and a
 * predict's time; the worker checks the length against the model.
 *
 * @example
 * toModelInput([[0, 1], [1, 0]]); // Float32Array [0, 1, 1, 0]
 */
export function toModelInput(input: unknown): Float32Array {
  const values: number[] = [];
  collect(input, 'input', values);
  if (values.length === 0) throw new EdgeloopError('INVALID_INPUT', 'input: no values');
  return Float32Array.from(values);
}

function collect(input: unknown, path: string, into: number[]): void {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new EdgeloopError('INVALID_INPUT', `${path}: ${input} is not finite`);
    if (into.push(input) > MAX_VALUES)
      throw new EdgeloopError('INVALID_INPUT', `input: more than ${MAX_VALUES} values`);
  } else if (ArrayBuffer.isView(input) && !(input instanceof DataView)) {
    if (input instanceof BigInt64Array || input instanceof BigUint64Array) {
      throw new EdgeloopError('INVALID_INPUT', `${path}: a BigInt array is not a model input`);
    }
    const values = input as unknown as ArrayLike<number>;
    for (let i = 0; i < values.length; i++) collect(values[i], `${path}[${i}]`, into);
  } else if (Array.isArray(input)) {
    for (const [i, item] of input.entries()) collect(item, `${path}[${i}]`, into);
  } else {
    throw new EdgeloopError('INVALID_INPUT', `${path}: expected a typed array, or (nested) arrays of numbers`);
  }
}
