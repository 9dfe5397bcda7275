import { EdgeloopError } from '../errors.ts';
import { bfloatToFloat, floatToBfloat, floatToHalf, halfToFloat } from './half.ts';

// safetensors (https://huggingface.co/docs/safetensors): an 8-byte little-endian u64 header
// length N, N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__"?: {string: string}}` (padded with spaces), then the tensors' little-endian
// bytes, offsets relative to the end of the header. Hand-written because no safetensors package
// is installable here (none on the offline npm list) and the format is small; it is strict where
// the reference (Rust) reader is lenient: duplicate names, unknown fields and leading spaces are
// refused. `encodeSafetensors` lays files out as Python's `safetensors.numpy.save` (0.8.0) does,
// byte for byte with ASCII names and one metadata key (it escapes non-ASCII, sorts metadata).

/** What each dtype's data is in memory: F16 and BF16 as float32, BOOL as bytes 0 or 1. */
export interface DtypeData {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  I16: Int16Array;
  U16: Uint16Array;
  F16: Float32Array;
  BF16: Float32Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  F64: Float64Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
}
export type SafetensorsDtype = keyof DtypeData;

/** One tensor: row-major `data` of `shape`'s product values. */
export type Tensor<D extends SafetensorsDtype = SafetensorsDtype> = {
  [K in D]: { dtype: K; shape: readonly number[]; data: DtypeData[K] };
}[D];

/** A decoded file: tensors by name in data order, and the header's `__metadata__`. */
export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

type Values = { length: number; [i: number]: number | bigint };
interface Codec {
  bytes: number;
  make(count: number): Values;
  get(view: DataView, at: number): number | bigint;
  set(view: DataView, at: number, value: number | bigint): void;
}
type ViewKind =
  | 'Uint8'
  | 'Int8'
  | 'Int16'
  | 'Uint16'
  | 'Int32'
  | 'Uint32'
  | 'Float32'
  | 'Float64'
  | 'BigInt64'
  | 'BigUint64';

/** A dtype stored as its typed array's values, read and written little-endian by DataView. */
function viewCodec(array: { new (count: number): Values; BYTES_PER_ELEMENT: number }, kind: ViewKind): Codec {
  const get = DataView.prototype[`get${kind}`] as (this: DataView, at: number, little: boolean) => number | bigint;
  const set = DataView.prototype[`set${kind}`] as (
    this: DataView,
    at: number,
    value: number | bigint,
    little: boolean,
  ) => void;
  return {
    bytes: array.BYTES_PER_ELEMENT,
    make: (count) => new array(count),
    get: (view, at) => get.call(view, at, true),
    set: (view, at, value) => set.call(view, at, value, true),
  };
}

/** A 16-bit float dtype, held as float32 values. */
const halfCodec = (toFloat: (bits: number) => number, toBits: (x: number) => number): Codec => ({
  bytes: 2,
  make: (count) => new Float32Array(count),
  get: (view, at) => toFloat(view.getUint16(at, true)),
  set: (view, at, value) => view.setUint16(at, toBits(value as number), true),
});

/**
 * In the order of the reference implementation's Dtype enum: it writes tensors by that order
 * descending (widest first, then by name), so that each starts aligned to its element size.
 */
const CODECS: Record<SafetensorsDtype, Codec> = {
  BOOL: viewCodec(Uint8Array, 'Uint8'),
  U8: viewCodec(Uint8Array, 'Uint8'),
  I8: viewCodec(Int8Array, 'Int8'),
  I16: viewCodec(Int16Array, 'Int16'),
  U16: viewCodec(Uint16Array, 'Uint16'),
  F16: halfCodec(halfToFloat, floatToHalf),
  BF16: halfCodec(bfloatToFloat, floatToBfloat),
  I32: viewCodec(Int32Array, 'Int32'),
  U32: viewCodec(Uint32Array, 'Uint32'),
  F32: viewCodec(Float32Array, 'Float32'),
  F64: viewCodec(Float64Array, 'Float64'),
  I64: viewCodec(BigInt64Array, 'BigInt64'),
  U64: viewCodec(BigUint64Array, 'BigUint64'),
};
const DTYPES = Object.keys(CODECS) as SafetensorsDtype[];

/** The reference reader's bound on the header (100 MB): a larger length is a damaged file. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA = '__metadata__';

const invalid = (file: string, message: string) => new EdgeloopError('INVALID_MANIFEST', `${file}: ${message}`);
const product = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/**
 * The safetensors bytes of `tensors` (written widest dtype first, then by name) with `metadata`
 * as the header's `__metadata__`; the header is padded with spaces to 8 bytes. INVALID_INPUT
 * when a tensor's data does not fit its dtype or shape.
 *
 * @example
 * const bytes = encodeSafetensors({ labels: { dtype: 'I32', shape: [2], data: Int32Array.of(3, 1) } }, { note: 'x' });
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => {
    const [x, y] = [tensors[a] as Tensor, tensors[b] as Tensor];
    return DTYPES.indexOf(y.dtype) - DTYPES.indexOf(x.dtype) || (a < b ? -1 : a > b ? 1 : 0);
  });
  // Written by hand, in this order: an object would put integer-like names first and take
  // "__proto__" as its prototype.
  const fields = metadata ? [`"${METADATA}":${sortedKeys(metadata)}`] : [];
  let offset = 0;
  for (const name of names) {
    const tensor = tensors[name] as Tensor;
    const wrong = (why: string) => new EdgeloopError('INVALID_INPUT', `safetensors: tensor "${name}" ${why}`);
    if (name === METADATA) throw wrong('has the reserved name');
    if (!Object.hasOwn(CODECS, tensor.dtype)) throw wrong(`has an unknown dtype "${tensor.dtype}"`);
    if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw wrong(`has a bad shape [${tensor.shape}]`);
    if (tensor.data.length !== product(tensor.shape))
      throw wrong(`has ${tensor.data.length} values for shape [${tensor.shape}]`);
    if (tensor.dtype === 'BOOL' && tensor.data.some((b) => b > 1))
      throw wrong('is BOOL with a value other than 0 or 1');
    const end = offset + tensor.data.length * CODECS[tensor.dtype].bytes;
    const info = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, end] };
    fields.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset = end;
  }
  // Non-ASCII escaped (\uXXXX is JSON): the header is then ASCII, so valid UTF-8 without a TextEncoder.
  const json = `{${fields.join(',')}}`.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const headerBytes = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerBytes + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes), true);
  for (let i = 0; i < headerBytes; i++) out[8 + i] = i < json.length ? json.charCodeAt(i) : 0x20;
  let at = 8 + headerBytes;
  for (const name of names) {
    const { dtype, data } = tensors[name] as Tensor;
    const { bytes, set } = CODECS[dtype];
    for (let i = 0; i < data.length; i++) set(view, at + i * bytes, data[i] as number | bigint);
    at += data.length * bytes;
  }
  return out;
}

/** `record` as a JSON object with its keys in order (the reference writer's are in no set order). */
const sortedKeys = (record: Record<string, string>) =>
  `{${Object.keys(record)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(record[k])}`)
    .join(',')}}`;

/**
 * Reads safetensors `bytes`, strictly: INVALID_MANIFEST naming `fileName` (and the tensor) when
 * the header length runs past the file, the header is not UTF-8 JSON of the layout above, a
 * name repeats, a dtype is unknown, a tensor's bytes are not its shape's product × its dtype's
 * size, or the tensors' offsets leave a gap, overlap or run past the data. F16 and BF16 are
 * decoded to float32; multi-byte values are read little-endian on any host.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes, 'holdout.safetensors');
 * tensors.get('labels'); // { dtype: 'I32', shape: [2000], data: Int32Array(2000) }
 */
export function decodeSafetensors(bytes: Uint8Array, fileName: string): SafetensorsFile {
  if (bytes.length < 8) throw invalid(fileName, `${bytes.length} bytes is too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(bytes.length - 8))
    throw invalid(fileName, `the header length ${length} runs past the file's ${bytes.length} bytes`);
  if (length > BigInt(MAX_HEADER_BYTES))
    throw invalid(fileName, `the header length ${length} is past ${MAX_HEADER_BYTES}`);
  const headerEnd = 8 + Number(length);
  const text = utf8(bytes.subarray(8, headerEnd));
  if (text === null) throw invalid(fileName, 'the header is not UTF-8');
  if (!text.startsWith('{')) throw invalid(fileName, 'the header does not start with "{"');
  let header: Record<string, unknown>;
  try {
    // Starting with "{", well-formed JSON is an object.
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw invalid(fileName, `the header is not JSON (${(error as Error).message})`);
  }
  const names = topLevelKeys(text);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw invalid(fileName, `tensor "${name}" is named twice in the header`);
    seen.add(name);
  }

  const dataLength = bytes.length - headerEnd;
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const name of names) {
    const entry = header[name];
    if (name === METADATA) {
      metadata = readMetadata(entry, fileName);
      continue;
    }
    const bad = (why: string) => invalid(fileName, `tensor "${name}": ${why}`);
    if (!isRecord(entry)) throw bad('is not an object');
    const extra = Object.keys(entry).find((k) => !['dtype', 'shape', 'data_offsets'].includes(k));
    if (extra !== undefined) throw bad(`has an unknown field "${extra}"`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !Object.hasOwn(CODECS, dtype))
      throw bad(`unknown dtype ${JSON.stringify(dtype)} (known: ${DTYPES.join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw bad(`shape ${JSON.stringify(shape)} is not a list of integers ≥ 0`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      throw bad(`data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    const [begin, end] = offsets as [number, number];
    if (end < begin || end > dataLength)
      throw bad(`data_offsets [${begin}, ${end}] are out of range of the ${dataLength} data bytes`);
    const size = CODECS[dtype as SafetensorsDtype].bytes;
    if (end - begin !== product(shape) * size)
      throw bad(`${end - begin} bytes is not shape [${shape}] × ${size} bytes (${dtype})`);
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '';
  for (const { name, begin, end } of entries) {
    if (begin < covered) throw invalid(fileName, `tensor "${name}" overlaps tensor "${previous}"`);
    if (begin > covered)
      throw invalid(fileName, `tensor "${name}" starts at ${begin}, leaving bytes ${covered}–${begin} unused`);
    covered = end;
    previous = name;
  }
  if (covered !== dataLength)
    throw invalid(fileName, `${dataLength - covered} bytes after the last tensor are not part of any tensor`);

  const tensors = new Map<string, Tensor>();
  for (const { name, dtype, shape, begin } of entries) {
    const { bytes: size, make, get } = CODECS[dtype];
    const count = product(shape);
    const at = headerEnd + begin;
    const data = make(count);
    // One-byte values in one copy (set converts U8 to I8 as getInt8 would); wider ones by DataView.
    if (size === 1) (data as Uint8Array).set(new Uint8Array(bytes.buffer, bytes.byteOffset + at, count));
    else for (let i = 0; i < count; i++) data[i] = get(view, at + i * size);
    if (dtype === 'BOOL' && (data as Uint8Array).some((b) => b > 1))
      throw invalid(fileName, `tensor "${name}": BOOL holds a byte other than 0 or 1`);
    tensors.set(name, { dtype, shape, data } as unknown as Tensor);
  }
  return { tensors, metadata };
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function readMetadata(entry: unknown, fileName: string): Record<string, string> {
  if (!isRecord(entry) || !Object.values(entry).every((value) => typeof value === 'string'))
    throw invalid(fileName, `${METADATA} is not an object of strings`);
  return entry as Record<string, string>;
}

/** The keys of the JSON object `text` (already parsed once, so well-formed), repeats included. */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, end + 1)) as string);
      expectKey = false;
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

/** `bytes` as UTF-8 (well-formed: no overlong forms, surrogates or code points past U+10FFFF), or null. */
function utf8(bytes: Uint8Array): string | null {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i] as number;
    const follow =
      lead < 0x80
        ? 0
        : lead >= 0xc2 && lead <= 0xdf
          ? 1
          : lead >= 0xe0 && lead <= 0xef
            ? 2
            : lead >= 0xf0 && lead <= 0xf4
              ? 3
              : -1;
    if (follow < 0) return null;
    let point = lead & (0x7f >> follow);
    for (let k = 1; k <= follow; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return null;
      point = (point << 6) | (next & 0x3f);
    }
    if (
      (follow === 2 && (point < 0x800 || (point >= 0xd800 && point <= 0xdfff))) ||
      (follow === 3 && (point < 0x10000 || point > 0x10ffff))
    )
      return null;
    i += follow + 1;
  }
  return new TextDecoder().decode(bytes);
}
