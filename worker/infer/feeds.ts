import { EdgeloopError } from '../../protocol/errors.ts';
import type { Manifest, TensorDtype, TensorSpec } from '../../protocol/manifest.ts';
import type { Tensor, TensorData } from '../../protocol/oip-tensor.ts';
import { type InputArray, isTensorInput, type ModelInput, type TensorInput } from '../../protocol/predict.ts';

// A predict's input, checked against the manifest's signature once and turned into one tensor
// per input (batch of one) in the manifest's order: what every runtime takes.

const invalid = (message: string) => new EdgeloopError('INVALID_INPUT', message);

/** Sizes past the batch axis, without the 1s: [1, 28, 28, 1] and [28, 28] both read [28, 28]. */
const squeezed = (shape: readonly number[]) => shape.filter((d) => d !== 1);

/**
 * The model's feeds for `input`: one typed array for a model of one input, or an object naming
 * every input. Each is checked against its spec: element count (a free dimension takes what is
 * left; with a `shape`, the shape itself, size-1 axes aside), element type (integers for int
 * dtypes, 0–255 for uint8, 0/1 for bool, finite for float32) and the spec's `range`. Throws
 * INVALID_INPUT naming the input and what is wrong; `input` alone names a model's only input.
 *
 * @example
 * const [image] = feedsOf(manifest, pixels); // { shape: [1, 28, 28, 1], data: Float32Array(784) }
 * feedsOf(manifest, { x: Float32Array.of(0.5, 1), ids: Int32Array.of(3) });
 */
export function feedsOf(signature: Pick<Manifest, 'inputs'>, input: ModelInput): Tensor[] {
  const specs = signature.inputs;
  if (isTensorInput(input)) {
    const [spec, ...more] = specs;
    if (!spec || more.length > 0) {
      throw invalid(`input: the model takes ${specs.length} inputs (${names(specs)}): pass { name: values } for each`);
    }
    return [feedOf(spec, input, 'input')];
  }
  const unknown = Object.keys(input).filter((name) => !specs.some((s) => s.name === name));
  if (unknown.length > 0) throw invalid(`input: ${unknown.join(', ')} is no input of the model (${names(specs)})`);
  return specs.map((spec) => {
    const given = input[spec.name];
    if (given === undefined) throw invalid(`input.${spec.name}: missing (the model takes ${names(specs)})`);
    return feedOf(spec, given, `input.${spec.name}`);
  });
}

const names = (specs: readonly TensorSpec[]) => specs.map((s) => s.name).join(', ');

function feedOf(spec: TensorSpec, input: TensorInput, what: string): Tensor {
  const values = ArrayBuffer.isView(input) ? input : input.data;
  const given = ArrayBuffer.isView(input) ? null : input.shape;
  if (given && given.reduce((a, b) => a * b, 1) !== values.length) {
    throw invalid(`${what}: shape [${given}] holds ${given.reduce((a, b) => a * b, 1)} values, got ${values.length}`);
  }
  return { shape: [1, ...shapeOf(spec, values.length, given, what)], data: elements(spec, values, what) };
}

/** The example's shape (no batch axis): the spec's, its free dimensions sized from the input. */
function shapeOf(spec: TensorSpec, length: number, given: readonly number[] | null, what: string): number[] {
  const dims = spec.shape.slice(1);
  const free = dims.filter((d) => d < 0).length;
  const fixed = dims.reduce((n, d) => (d < 0 ? n : n * d), 1);
  if (given) {
    const want = squeezed(dims);
    const have = squeezed(given);
    const fits = want.length === have.length && want.every((d, i) => d < 0 || d === have[i]);
    if (!fits) throw invalid(`${what}: shape [${given}] is not the model's [${dims.map(dim)}]`);
    if (free === 0) return dims;
    // Free sizes come from the given shape's matching axes.
    const sizes = have.filter((_, i) => (want[i] as number) < 0);
    return dims.map((d) => (d < 0 ? (sizes.shift() as number) : d));
  }
  if (free === 0) {
    if (length !== fixed)
      throw invalid(`${what}: expected ${fixed} ${noun(spec)}, got ${length} ([${dims}] per example)`);
    return dims;
  }
  if (free > 1) {
    throw invalid(
      `${what}: the model's [${dims.map(dim)}] has ${free} free sizes: pass { data, shape } (or nested arrays)`,
    );
  }
  if (length === 0 || length % fixed !== 0) {
    throw invalid(`${what}: ${length} values do not fill [${dims.map(dim)}] (a multiple of ${fixed})`);
  }
  return dims.map((d) => (d < 0 ? length / fixed : d));
}

const dim = (d: number) => (d < 0 ? '?' : String(d));
const noun = (spec: TensorSpec) => (spec.dtype === 'float32' ? 'floats' : 'values');

/** The values in the array of the spec's dtype, each checked for it and for the spec's range. */
function elements(spec: TensorSpec, values: InputArray, what: string): TensorData {
  if (values instanceof BigInt64Array && spec.dtype !== 'int64') {
    throw invalid(`${what}: a BigInt64Array feeds int64 inputs only; this one is ${spec.dtype}`);
  }
  const out = arrayOf(spec.dtype, values.length);
  const [lo, hi] = spec.range ?? [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (let i = 0; i < values.length; i++) {
    const raw = values[i] as number | bigint;
    const x = Number(raw);
    const problem = elementProblem(spec.dtype, x);
    if (problem) throw invalid(`${what}[${i}]: ${raw} ${problem}`);
    if (!(x >= lo && x <= hi)) throw invalid(`${what}[${i}]: ${x} is not in [${lo}, ${hi}]`);
    if (out instanceof BigInt64Array) out[i] = typeof raw === 'bigint' ? raw : BigInt(x);
    else out[i] = x;
  }
  return out;
}

function elementProblem(dtype: TensorDtype, x: number): string | null {
  switch (dtype) {
    case 'float32':
      return Number.isFinite(Math.fround(x)) ? null : 'is not a finite float32';
    case 'int32':
      return Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31 ? null : 'is not an int32';
    case 'int64':
      return Number.isInteger(x) ? null : 'is not an integer';
    case 'uint8':
      return Number.isInteger(x) && x >= 0 && x <= 255 ? null : 'is not a uint8 (0–255)';
    case 'bool':
      return x === 0 || x === 1 ? null : 'is not a bool (0 or 1)';
  }
}

function arrayOf(dtype: TensorDtype, n: number): TensorData {
  if (dtype === 'float32') return new Float32Array(n);
  if (dtype === 'int32') return new Int32Array(n);
  if (dtype === 'int64') return new BigInt64Array(n);
  return new Uint8Array(n);
}
