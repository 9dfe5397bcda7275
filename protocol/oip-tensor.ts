import { EdgeloopError } from './errors.ts';
import type { TensorDtype } from './manifest.ts';
import { MAX_TENSOR_ELEMENTS, type OipInferInput, type OipTensorMetadata } from './oip.ts';

/**
 * A tensor's elements, flat and row-major, in the array of its datatype: FP32 Float32Array,
 * INT32 Int32Array, INT64 BigInt64Array, UINT8 and BOOL (0 or 1) Uint8Array.
 */
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** A tensor read from a request or answered by a model: its shape and its elements. */
export interface Tensor {
  shape: number[];
  data: TensorData;
}

/** The datatypes a model's tensors may have here (protocol/manifest.ts TensorDtype). */
type Datatype = 'FP32' | 'INT32' | 'INT64' | 'UINT8' | 'BOOL';

const ARRAYS = {
  FP32: Float32Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  UINT8: Uint8Array,
  BOOL: Uint8Array,
} as const;

/** Whether `x` is an element of `datatype` as JSON carries it (INT64: a safe integer, as JSON numbers are doubles). */
function holds(datatype: Datatype, x: unknown): boolean {
  switch (datatype) {
    case 'FP32':
      // FP32 must hold it: 1e39 would become Infinity, answered as null in JSON.
      return typeof x === 'number' && Number.isFinite(Math.fround(x));
    case 'INT32':
      return Number.isInteger(x) && (x as number) >= -(2 ** 31) && (x as number) < 2 ** 31;
    case 'INT64':
      return Number.isSafeInteger(x);
    case 'UINT8':
      return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 255;
    case 'BOOL':
      return typeof x === 'boolean';
  }
}

function isDatatype(datatype: string): datatype is Datatype {
  return datatype in ARRAYS;
}

const invalid = (message: string) => new EdgeloopError('INVALID_INPUT', message);

/**
 * Checks one input of an infer request against the model's metadata for it — datatype, shape
 * (-1 in the metadata takes any size), elements as many as the shape holds, each of the
 * datatype (FP32: numbers finite in float32; INT32, INT64, UINT8: integers in range, INT64 within
 * ±2^53; BOOL: true or false) — and returns its elements flat in the datatype's array.
 * `data` may be flat or nested as `shape`; nested data must match the shape at every level.
 * Throws INVALID_INPUT naming the input and what is wrong.
 *
 * @example
 * readInput({ name: 'x', shape: [1, 2], datatype: 'FP32', data: [[0.5, 1]] }, { name: 'x', datatype: 'FP32', shape: [-1, 2] });
 * // { shape: [1, 2], data: Float32Array [0.5, 1] }
 */
export function readInput(input: OipInferInput, spec: OipTensorMetadata): Tensor {
  const where = `input "${input.name}"`;
  if (input.datatype !== spec.datatype) {
    throw invalid(`${where} has datatype ${input.datatype}; the model takes ${spec.datatype}`);
  }
  const fits =
    input.shape.length === spec.shape.length &&
    input.shape.every((n, i) => spec.shape[i] === -1 || spec.shape[i] === n);
  if (!fits) throw invalid(`${where} has shape [${input.shape}]; the model takes [${spec.shape}] (-1: any size)`);
  const size = input.shape.reduce((a, b) => a * b, 1);
  if (size > MAX_TENSOR_ELEMENTS) throw invalid(`${where} holds ${size} elements; at most ${MAX_TENSOR_ELEMENTS}`);
  const flat = flatten(input.data, input.shape, where);
  if (flat.length !== size) {
    throw invalid(`${where} has ${flat.length} elements; shape [${input.shape}] holds ${size}`);
  }
  const { datatype } = spec;
  if (!isDatatype(datatype)) throw invalid(`${where}: the model's datatype ${datatype} is not served here`);
  const data = new ARRAYS[datatype](size);
  for (let i = 0; i < size; i++) {
    const x = flat[i];
    if (!holds(datatype, x)) throw invalid(`${where}: element ${i} (${JSON.stringify(x)}) is not ${datatype}`);
    if (data instanceof BigInt64Array) data[i] = BigInt(x as number);
    else data[i] = Number(x);
  }
  return { shape: [...input.shape], data };
}

/** Flat data as is; nested data checked against `shape` level by level, then flattened. */
function flatten(data: unknown[], shape: number[], where: string): unknown[] {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (level: unknown[], depth: number, path: string) => {
    const expected = shape[depth];
    if (level.length !== expected) {
      throw invalid(`${where}: data${path} has ${level.length} entries; shape [${shape}] wants ${expected}`);
    }
    const last = depth === shape.length - 1;
    level.forEach((item, i) => {
      if (last) {
        if (Array.isArray(item)) throw invalid(`${where}: data${path}[${i}] is nested deeper than shape [${shape}]`);
        out.push(item);
      } else if (!Array.isArray(item)) {
        throw invalid(`${where}: data${path}[${i}] is not an array; shape [${shape}] nests ${shape.length} deep`);
      } else walk(item, depth + 1, `${path}[${i}]`);
    });
  };
  walk(data, 0, '');
  return out;
}

/**
 * A tensor's elements as JSON answers them: numbers (INT64 as doubles, exact within ±2^53), or
 * booleans for BOOL.
 *
 * @example
 * jsonData(Uint8Array.of(1, 0), 'BOOL'); // [true, false]
 */
export function jsonData(data: TensorData, datatype: string): (number | boolean)[] {
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (x) => x !== 0);
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

/**
 * The elements as float32, for what reads any tensor as numbers (drift features, explanations).
 *
 * @example
 * asFloat32(BigInt64Array.of(3n)); // Float32Array [3]
 */
export function asFloat32(data: TensorData): Float32Array {
  if (data instanceof Float32Array) return data;
  return Float32Array.from(data as ArrayLike<number | bigint>, Number);
}

/**
 * Elements in the array of `dtype` (integers truncated, uint8 and bool clamped to their range):
 * what a runtime answered, as the manifest declares the output.
 *
 * @example
 * castData(Int32Array.of(2), 'int64'); // BigInt64Array [2n]
 */
export function castData(data: TensorData | readonly number[], dtype: TensorDtype): TensorData {
  const numbers = (): ArrayLike<number> =>
    data instanceof BigInt64Array ? Array.from(data, Number) : (data as ArrayLike<number>);
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array ? data : Float32Array.from(numbers());
    case 'int32':
      return data instanceof Int32Array ? data : Int32Array.from(numbers(), Math.trunc);
    case 'int64':
      return data instanceof BigInt64Array ? data : BigInt64Array.from(numbers(), (x) => BigInt(Math.trunc(x)));
    case 'uint8':
      return Uint8Array.from(numbers(), (x) => Math.min(255, Math.max(0, Math.round(x))));
    case 'bool':
      return Uint8Array.from(numbers(), (x) => (x ? 1 : 0));
  }
}
