import { EdgeloopError } from './errors.ts';
import { MAX_TENSOR_ELEMENTS, type OipInferInput, type OipTensorMetadata } from './oip.ts';

/** An input tensor read from a request: its shape and its elements, flat and row-major. */
export interface Tensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

const invalid = (message: string) => new EdgeloopError('INVALID_INPUT', message);

/**
 * Checks one input of an infer request against the model's metadata for it — datatype, shape
 * (-1 in the metadata takes any size), elements as many as the shape holds, each of the
 * datatype (FP32: numbers finite in float32; INT32: integers in range) — and returns its elements flat.
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
  const data = spec.datatype === 'INT32' ? new Int32Array(size) : new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const x = flat[i];
    const ok =
      typeof x === 'number' &&
      // FP32 must hold it: 1e39 would become Infinity, answered as null in JSON.
      Number.isFinite(spec.datatype === 'FP32' ? Math.fround(x) : x) &&
      (spec.datatype !== 'INT32' || (Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31));
    if (!ok) throw invalid(`${where}: element ${i} (${JSON.stringify(x)}) is not ${spec.datatype}`);
    data[i] = x;
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
