import { EdgeloopError } from '../../protocol/errors.ts';
import type { InputArray, ModelInput, TensorInput } from '../../protocol/predict.ts';

// Host-page input to `predict`, checked and copied page-side: what crosses to the worker is a
// fresh typed array per input (transferred, so the page's own arrays are never detached), with
// the shape nested arrays had. The worker checks it against the model's manifest. Checked by
// hand rather than with a valibot schema: a recursive schema would cost more than the script
// tag's size budget and a predict's time.

/** Most values one input may have: far above any model the SDK runs, below a tab-freezing copy. */
const MAX_VALUES = 1 << 24;

/** What `predict` takes for one input: a typed array, or (nested) arrays of numbers, row-major. */
export type InputValues = InputArray | readonly number[] | readonly unknown[];

/** What `predict` takes: the model's one input, or each input by its manifest name. */
export type PredictInput = InputValues | { readonly [name: string]: InputValues };

const invalid = (message: string) => new EdgeloopError('INVALID_INPUT', message);

/**
 * The input as the worker takes it, with the buffers to transfer: a typed array is copied as
 * it is (its element type kept: int32 ids stay int32); flat arrays of numbers become a
 * Float32Array; nested arrays a Float32Array with their shape (rows must be the same length).
 * An object maps input names to either. INVALID_INPUT names what is wrong.
 *
 * @example
 * toModelInput([[0, 1], [1, 0]]); // { input: { data: Float32Array [0, 1, 1, 0], shape: [2, 2] }, transfer: [buffer] }
 * toModelInput({ x: Float32Array.of(0.5), ids: Int32Array.of(3) });
 */
export function toModelInput(input: unknown): { input: ModelInput; transfer: ArrayBuffer[] } {
  if (isValues(input)) {
    const tensor = toTensor(input, 'input');
    return { input: tensor, transfer: [bufferOf(tensor)] };
  }
  if (input === null || typeof input !== 'object' || ArrayBuffer.isView(input)) {
    throw invalid('input: expected a typed array, (nested) arrays of numbers, or { inputName: values }');
  }
  const entries = Object.entries(input);
  if (entries.length === 0) throw invalid('input: name at least one input');
  const named: Record<string, TensorInput> = {};
  for (const [name, values] of entries) {
    if (!isValues(values)) throw invalid(`input.${name}: expected a typed array or (nested) arrays of numbers`);
    named[name] = toTensor(values, `input.${name}`);
  }
  return { input: named, transfer: Object.values(named).map(bufferOf) };
}

function isValues(x: unknown): x is InputValues {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

function bufferOf(tensor: TensorInput): ArrayBuffer {
  return (ArrayBuffer.isView(tensor) ? tensor.buffer : tensor.data.buffer) as ArrayBuffer;
}

function toTensor(values: InputValues, path: string): TensorInput {
  if (ArrayBuffer.isView(values)) return copyOf(values as InputArray, path);
  const shape = shapeOf(values, path);
  const flat: number[] = [];
  collect(values, path, flat);
  if (flat.length === 0) throw invalid(`${path}: no values`);
  const data = Float32Array.from(flat);
  return shape.length > 1 ? { data, shape } : data;
}

function copyOf(values: InputArray, path: string): InputArray {
  if (values instanceof BigUint64Array) throw invalid(`${path}: a BigUint64Array is not a model input`);
  if (values.length > MAX_VALUES) throw invalid(`${path}: more than ${MAX_VALUES} values`);
  return values.slice() as InputArray;
}

/** The sizes of nested arrays, outermost first; every row at a level must have the same length. */
function shapeOf(values: readonly unknown[], path: string): number[] {
  const first = values[0];
  const inner = Array.isArray(first)
    ? shapeOf(first, `${path}[0]`)
    : ArrayBuffer.isView(first)
      ? [(first as InputArray).length]
      : [];
  for (const [i, row] of values.entries()) {
    const size = Array.isArray(row) ? row.length : ArrayBuffer.isView(row) ? (row as InputArray).length : null;
    if ((size ?? -1) !== (inner[0] ?? -1)) {
      throw invalid(`${path}[${i}]: rows differ in length (${size ?? 'a number'} vs ${inner[0] ?? 'a number'})`);
    }
  }
  return [values.length, ...inner];
}

function collect(input: unknown, path: string, into: number[]): void {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw invalid(`${path}: ${input} is not finite`);
    if (into.push(input) > MAX_VALUES) throw invalid(`input: more than ${MAX_VALUES} values`);
  } else if (ArrayBuffer.isView(input) && !(input instanceof DataView)) {
    if (input instanceof BigInt64Array || input instanceof BigUint64Array) {
      throw invalid(`${path}: nest BigInt arrays as one BigInt64Array, not inside arrays`);
    }
    const values = input as unknown as ArrayLike<number>;
    for (let i = 0; i < values.length; i++) collect(values[i], `${path}[${i}]`, into);
  } else if (Array.isArray(input)) {
    for (const [i, item] of input.entries()) collect(item, `${path}[${i}]`, into);
  } else {
    throw invalid(`${path}: expected a typed array, or (nested) arrays of numbers`);
  }
}
