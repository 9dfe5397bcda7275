import { EdgeloopError } from '../errors.ts';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.ts';

// The container of a version's labelled example sets (files with role `replay` or `holdout`),
// read by the worker's fine-tune and the edge's federated gate alike: a safetensors file with
// tensor `inputs` ([count, ...one input's shape], F32, or U8 with `__metadata__.inputs_scale`,
// a decimal: value = byte × scale) and tensor `labels` ([count] I32 class indices, I64 also
// read; [count] or [count, k] F32 regression targets). Files of the layout before it (records
// of one label byte and one byte per input value, value = byte / 255) are still read.

/** The tensors and the metadata key of an examples file. */
export const INPUTS = 'inputs';
export const LABELS = 'labels';
export const INPUTS_SCALE = 'inputs_scale';

/** What a file's examples must be: `size` input values each, and a class in [0, `classes`) or `targets` values. */
export type ExampleSpec =
  | { task: 'classification'; size: number; classes: number }
  | { task: 'regression'; size: number; targets: number };

/** Labelled inputs, flat: example i is `inputs[i * size … (i + 1) * size)` with label(s) `i` of `labels`. */
export interface ExamplesOf<L extends Int32Array | Float32Array> {
  count: number;
  size: number;
  inputs: Float32Array;
  labels: L;
}
export type ClassExamples = ExamplesOf<Int32Array>;
export type TargetExamples = ExamplesOf<Float32Array>;
type ExamplesFor<S extends ExampleSpec> = S extends { task: 'classification' } ? ClassExamples : TargetExamples;

/** An examples file as stored, checked: inputs as bytes with their scale, or float32 (`scale` null). */
export interface StoredExamples<L extends Int32Array | Float32Array = Int32Array | Float32Array> {
  count: number;
  size: number;
  inputs: Uint8Array | Float32Array;
  scale: number | null;
  labels: L;
  /** Read from the layout before safetensors. */
  legacy: boolean;
}

/** What a writer gives {@link encodeExamples}. */
export interface ExamplesFile {
  /** One example's input shape: the model input's without the batch dimension. */
  shape: readonly number[];
  /** Row-major inputs: float32 values, or bytes that stand for byte × `scale`. */
  inputs: Float32Array | Uint8Array;
  scale?: number;
  /** Class indices (one per example), or regression targets (`targets` per example, default 1). */
  labels: Int32Array | Float32Array;
  /** With float32 labels: values per example, stored as [count, targets] (absent: [count]). */
  targets?: number;
  metadata?: Record<string, string>;
}

/** The value of legacy records' bytes: byte / 255 (the same float32 as byte × this). */
const LEGACY_SCALE = 1 / 255;
/** A positive decimal, as Python's str(float) or JavaScript's String(number) writes one. */
const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

const invalid = (file: string, message: string) => new EdgeloopError('INVALID_MANIFEST', `${file}: ${message}`);
const product = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/**
 * Whether `bytes` are safetensors: a header length that fits the file, and a header that
 * begins with `{` and ends with `}` (then padding). A legacy record file starts with a label
 * byte and input bytes, which practically never line up so.
 *
 * @example
 * isSafetensors(await file.bytes()); // true for holdout.safetensors, false for holdout.bin
 */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10 || bytes[8] !== 0x7b) return false;
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (length < 2n || length > BigInt(bytes.length - 8)) return false;
  let last = 8 + Number(length) - 1;
  while (bytes[last] === 0x20) last--;
  return bytes[last] === 0x7d;
}

/**
 * Reads and checks an examples file without converting its inputs: safetensors, or legacy
 * records (classification only). INVALID_MANIFEST naming `fileName` when it is neither, or
 * its inputs are not `size` values each (finite), or a label is not a class of the spec (or
 * targets not `targets` finite values).
 *
 * @example
 * const { inputs, scale } = readExamples(bytes, { task: 'classification', size: 784, classes: 10 }, 'holdout.safetensors');
 */
export function readExamples<S extends ExampleSpec>(
  bytes: Uint8Array,
  spec: S,
  fileName: string,
): StoredExamples<ExamplesFor<S>['labels']> {
  const stored = isSafetensors(bytes) ? readSafetensors(bytes, spec, fileName) : readLegacy(bytes, spec, fileName);
  if (spec.task === 'classification') {
    const labels = stored.labels as Int32Array;
    const at = labels.findIndex((label) => label < 0 || label >= spec.classes);
    if (at >= 0) throw invalid(fileName, `example ${at} has label ${labels[at]}, not a class in [0, ${spec.classes})`);
  }
  return stored as StoredExamples<ExamplesFor<S>['labels']>;
}

/**
 * Decodes an examples file (see {@link readExamples}) to float32 inputs: bytes × scale, which
 * for legacy records is byte / 255 exactly as before. Classification gives Int32Array labels.
 *
 * @example
 * const holdout = decodeExamples(bytes, { task: 'classification', size: 784, classes: 10 }, 'holdout.safetensors');
 * holdout.inputs.length; // holdout.count * 784
 */
export function decodeExamples<S extends ExampleSpec>(bytes: Uint8Array, spec: S, fileName: string): ExamplesFor<S> {
  const { count, size, inputs, scale, labels } = readExamples(bytes, spec, fileName);
  if (inputs instanceof Float32Array) return { count, size, inputs, labels } as ExamplesFor<S>;
  const values = Float32Array.from({ length: 256 }, (_, b) => b * (scale as number));
  const floats = new Float32Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) floats[i] = values[inputs[i] as number] as number;
  return { count, size, inputs: floats, labels } as ExamplesFor<S>;
}

/**
 * The safetensors bytes of an examples file: `inputs` [count, ...shape] (F32, or U8 with
 * `inputs_scale` = String(scale)) and `labels` ([count] I32, or F32 [count] / [count, targets]).
 * INVALID_INPUT when the parts do not fit together.
 *
 * @example
 * const bytes = encodeExamples({ shape: [28, 28, 1], inputs: pixels, scale: 1 / 255, labels: Int32Array.from(digits) });
 */
export function encodeExamples(file: ExamplesFile): Uint8Array {
  const wrong = (message: string) => new EdgeloopError('INVALID_INPUT', `examples: ${message}`);
  const size = product(file.shape);
  const count = file.inputs.length / size;
  if (!Number.isInteger(count))
    throw wrong(`${file.inputs.length} input values are not examples of shape [${file.shape}]`);
  const bytesIn = file.inputs instanceof Uint8Array;
  const { scale } = file;
  if (bytesIn !== (scale !== undefined)) throw wrong('byte inputs need a scale, float32 inputs take none');
  if (scale !== undefined && !(Number.isFinite(scale) && scale > 0)) throw wrong(`scale ${scale} is not a number > 0`);
  const width = file.labels instanceof Float32Array ? (file.targets ?? 1) : 1;
  if (file.targets !== undefined && !(file.labels instanceof Float32Array)) throw wrong('targets need float32 labels');
  if (file.labels.length !== count * width)
    throw wrong(`${file.labels.length} labels for ${count} examples of ${width} label${width === 1 ? '' : 's'}`);
  const inputs: Tensor =
    file.inputs instanceof Uint8Array
      ? { dtype: 'U8', shape: [count, ...file.shape], data: file.inputs }
      : { dtype: 'F32', shape: [count, ...file.shape], data: file.inputs };
  const labels: Tensor =
    file.labels instanceof Int32Array
      ? { dtype: 'I32', shape: [count], data: file.labels }
      : { dtype: 'F32', shape: file.targets === undefined ? [count] : [count, width], data: file.labels };
  const metadata = { ...file.metadata, ...(scale === undefined ? {} : { [INPUTS_SCALE]: String(scale) }) };
  return encodeSafetensors({ [INPUTS]: inputs, [LABELS]: labels }, Object.keys(metadata).length ? metadata : undefined);
}

function readSafetensors(bytes: Uint8Array, spec: ExampleSpec, fileName: string): StoredExamples {
  const { tensors, metadata } = decodeSafetensors(bytes, fileName);
  const other = [...tensors.keys()].find((name) => name !== INPUTS && name !== LABELS);
  if (other !== undefined) throw invalid(fileName, `tensor "${other}" is not one of an examples file (inputs, labels)`);
  const inputs = tensors.get(INPUTS);
  const labels = tensors.get(LABELS);
  if (!inputs || !labels) throw invalid(fileName, `an examples file holds tensors "${INPUTS}" and "${LABELS}"`);

  const [count = -1, ...shape] = inputs.shape;
  if (count < 0) throw invalid(fileName, `tensor "${INPUTS}" has no examples dimension`);
  if (product(shape) !== spec.size)
    throw invalid(
      fileName,
      `tensor "${INPUTS}": examples of shape [${shape}] are ${product(shape)} values, not ${spec.size}`,
    );
  const text = metadata[INPUTS_SCALE];
  let scale: number | null = null;
  if (inputs.dtype === 'U8') {
    scale = text !== undefined && DECIMAL.test(text) ? Number(text) : Number.NaN;
    if (!(Number.isFinite(scale) && scale > 0))
      throw invalid(
        fileName,
        `U8 inputs need ${INPUTS_SCALE}, a decimal > 0 (value = byte × scale), not ${JSON.stringify(text)}`,
      );
  } else if (inputs.dtype === 'F32') {
    if (text !== undefined) throw invalid(fileName, `${INPUTS_SCALE} is for U8 inputs; these are F32`);
    const at = inputs.data.findIndex((x) => !Number.isFinite(x));
    if (at >= 0) throw invalid(fileName, `tensor "${INPUTS}": value ${at} is ${inputs.data[at]}`);
  } else throw invalid(fileName, `tensor "${INPUTS}" is ${inputs.dtype}; examples' inputs are F32 or U8`);

  const labelled = `tensor "${LABELS}"`;
  if (labels.shape[0] !== count)
    throw invalid(fileName, `${labelled} has shape [${labels.shape}] for ${count} examples`);
  if (spec.task === 'classification') {
    if (labels.shape.length !== 1)
      throw invalid(fileName, `${labelled}: class labels are shaped [count], not [${labels.shape}]`);
    if (labels.dtype === 'I32')
      return { count, size: spec.size, inputs: inputs.data, scale, labels: labels.data, legacy: false };
    if (labels.dtype !== 'I64')
      throw invalid(fileName, `${labelled} is ${labels.dtype}; class labels are I32 (or I64)`);
    // Checked here, before a value past int32 could wrap into a class.
    const at = labels.data.findIndex((x) => x < 0n || x >= BigInt(spec.classes));
    if (at >= 0)
      throw invalid(fileName, `example ${at} has label ${labels.data[at]}, not a class in [0, ${spec.classes})`);
    const narrow = Int32Array.from(labels.data, Number);
    return { count, size: spec.size, inputs: inputs.data, scale, labels: narrow, legacy: false };
  }
  const expected = spec.targets === 1 && labels.shape.length === 1 ? [count] : [count, spec.targets];
  if (labels.dtype !== 'F32' || labels.shape.join() !== expected.join())
    throw invalid(fileName, `${labelled} is ${labels.dtype} [${labels.shape}]; targets are F32 [${expected}]`);
  const at = labels.data.findIndex((x) => !Number.isFinite(x));
  if (at >= 0) throw invalid(fileName, `${labelled}: value ${at} is ${labels.data[at]}`);
  return { count, size: spec.size, inputs: inputs.data, scale, labels: labels.data, legacy: false };
}

/** Records of one label byte and `size` input bytes, as files were before safetensors. */
function readLegacy(bytes: Uint8Array, spec: ExampleSpec, fileName: string): StoredExamples {
  const record = spec.size + 1;
  if (spec.task !== 'classification')
    throw invalid(fileName, 'is not safetensors, and records of label bytes hold classes only, not regression targets');
  if (bytes.length % record !== 0)
    throw invalid(
      fileName,
      `is not safetensors, and ${bytes.length} bytes is not a multiple of ${record} (records of a label byte and ${spec.size} input bytes)`,
    );
  const count = bytes.length / record;
  const inputs = new Uint8Array(count * spec.size);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = bytes[i * record] as number;
    inputs.set(bytes.subarray(i * record + 1, (i + 1) * record), i * spec.size);
  }
  return { count, size: spec.size, inputs, scale: LEGACY_SCALE, labels, legacy: true };
}
