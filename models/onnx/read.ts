import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { EdgeloopError } from '../../protocol/errors.ts';

// Reads what Edgeloop needs of an ONNX ModelProto (field numbers of onnx/onnx.proto3, as
// onnx-proto.ts writes them) straight off the wire: the graph's interface, its nodes and their
// attributes, and each initializer's type and dims. Tensor data is never copied: raw_data stays
// a view into the file, decoded only for tiny tensors (a Reshape's shape, Resize's scales) that
// shape inference needs. Subgraphs (If/Loop bodies) are flagged, not read.

const { Varint, Bit32, LengthDelimited: Bytes } = WireType;

type IntType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'uint32' | 'uint64';
type FloatType = 'float32' | 'float16' | 'float64' | 'bfloat16';
export type OnnxElemType = IntType | FloatType | 'string' | 'bool' | `unknown(${number})`;

/** TensorProto.DataType by number (14, 15 are complex64/128: unknown here). */
const ELEM_TYPES = ',float32,uint8,int8,uint16,int16,int32,int64,string,bool,float16,float64,uint32,uint64,,,bfloat16';

export interface OnnxTensorInfo {
  name: string;
  elemType: OnnxElemType;
  /** null: unknown rank; a string: a symbolic dim (dim_param); null inside: a dim with neither value nor param */
  shape: (number | string | null)[] | null;
}

/** A tensor's type and dims; `values` only for float32/int32/int64 tensors of at most {@link VALUES_LIMIT} elements. */
export interface OnnxTensorValue {
  dims: number[];
  elemType: OnnxElemType;
  values?: number[];
}

type Scalar = { f: number } | { i: number } | { s: string };
type List = { floats: number[] } | { ints: number[] } | { strings: string[] };
export type OnnxAttribute = Scalar | List | { t: OnnxTensorValue } | { g: true } | { other: number };

export interface OnnxNodeInfo {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

export interface OnnxInitializer extends OnnxTensorValue {
  name: string;
  /** data_location EXTERNAL (or external_data entries): the values live in another file */
  external: boolean;
}

export interface OnnxGraph {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  graphName: string;
  /** graph inputs that are not initializers (what a caller feeds) */
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  initializers: OnnxInitializer[];
  nodes: OnnxNodeInfo[];
  valueInfo: OnnxTensorInfo[];
  /** true when any initializer's data lives in an external file (not supported by Edgeloop) */
  externalData: boolean;
}

/** Tensors up to this many elements have their values read. */
export const VALUES_LIMIT = 64;

const elemType = (n: number) => (ELEM_TYPES.split(',')[n] || `unknown(${n})`) as OnnxElemType;
const invalid = (where: string, why: string) => new EdgeloopError('INVALID_MODEL', `${where}: ${why}`);

/** Reads one occurrence of a field; `index` counts the earlier ones. */
type Read<T> = (r: BinaryReader, wire: WireType, index: number) => T;
type Schema = Record<number, readonly [name: string, read: Read<unknown>]>;
type NameOf<F> = F extends readonly [infer N extends string, unknown] ? N : never;
type ValuesOf<F> = F extends readonly [string, Read<infer T>] ? T[] : never;
type Fields<S extends Schema> = { [K in keyof S as NameOf<S[K]>]: ValuesOf<S[K]> };

/**
 * The fields of the message in `bytes` that `schema` names, each occurrence read by its reader
 * (others are skipped, as protobuf readers do). Any failure becomes INVALID_MODEL naming the
 * field by its path, e.g. "ModelProto.graph.node[3].attribute[1].ints".
 */
function fields<const S extends Schema>(bytes: Uint8Array, path: string, schema: S): Fields<S> {
  const found: Record<string, unknown[]> = {};
  for (const [name] of Object.values(schema)) found[name] = [];
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const at = r.pos;
    let field: number;
    let wire: WireType;
    try {
      [field, wire] = r.tag();
    } catch {
      throw invalid(path, `no valid field tag at byte ${at} of the message`);
    }
    const spec = schema[field];
    try {
      const list = spec && found[spec[0]];
      if (spec && list) list.push(spec[1](r, wire, list.length));
      else r.skip(wire, field);
    } catch (error) {
      if (error instanceof EdgeloopError) throw error;
      const why = error instanceof RangeError ? 'runs past the end of its message (truncated?)' : String(error);
      throw invalid(`${path}.${spec?.[0] ?? `field ${field}`}`, why.replace(/^Error: /, ''));
    }
  }
  return found as Fields<S>;
}

function want(r: BinaryReader, wire: WireType, expected: WireType): BinaryReader {
  if (wire !== expected) throw new Error(`wire type ${wire} where the schema has ${expected}`);
  return r;
}
const sub: Read<Uint8Array> = (r, wire) => want(r, wire, Bytes).bytes();
const str: Read<string> = (r, wire) => want(r, wire, Bytes).string();
const int: Read<number> = (r, wire) => Number(want(r, wire, Varint).int64());
const float: Read<number> = (r, wire) => want(r, wire, Bit32).float();

/** A sub-message read by `read` at `path`, indexed when the field repeats. */
const message =
  <T>(read: (bytes: Uint8Array, path: string) => T, path: string, repeated = true): Read<T> =>
  (r, wire, index) =>
    read(sub(r, wire, index), repeated ? `${path}[${index}]` : path);

/** A repeated field of int64s (`element` Varint) or floats (Bit32), packed or not, added to `into` up to `limit`. */
function numbers(r: BinaryReader, wire: WireType, element: WireType, into: number[] = [], limit = Infinity): number[] {
  const read = element === Varint ? int : float;
  if (wire !== Bytes) {
    const value = read(r, wire, 0);
    if (into.length < limit) into.push(value);
    return into;
  }
  const length = r.uint32();
  const end = r.pos + length;
  if (end > r.len) throw new RangeError();
  while (r.pos < end && into.length < limit) into.push(read(r, element, 0));
  if (r.pos > end) throw new Error('a value runs past the end of its packed list');
  r.pos = end;
  return into;
}

/**
 * The graph of ONNX ModelProto `bytes`: its interface, nodes, initializers' types and dims.
 * Throws EdgeloopError INVALID_MODEL naming the field when the bytes are not a ModelProto.
 *
 * @example
 * const graph = readOnnx(new Uint8Array(await file.arrayBuffer()));
 * graph.inputs; // [{ name: 'image', elemType: 'float32', shape: ['batch', 28, 28, 1] }]
 */
export function readOnnx(bytes: Uint8Array): OnnxGraph {
  const model = fields(bytes, 'ModelProto', {
    1: ['ir_version', int],
    2: ['producer_name', str],
    7: ['graph', message(readGraph, 'ModelProto.graph', false)],
    8: ['opset_import', message(readOpset, 'ModelProto.opset_import')],
  });
  const [graph, ...more] = model.graph;
  if (!graph || more.length)
    throw invalid('ModelProto.graph', graph ? `appears ${more.length + 1} times` : 'is missing');
  const initialized = new Set(graph.initializers.map((t) => t.name));
  return {
    irVersion: model.ir_version.at(-1) ?? 0,
    opsets: model.opset_import,
    producer: model.producer_name.at(-1) ?? '',
    ...graph,
    inputs: graph.inputs.filter((input) => !initialized.has(input.name)),
    externalData: graph.initializers.some((t) => t.external),
  };
}

function readOpset(bytes: Uint8Array, path: string): { domain: string; version: number } {
  const opset = fields(bytes, path, { 1: ['domain', str], 2: ['version', int] });
  return { domain: opset.domain.at(-1) ?? '', version: opset.version.at(-1) ?? 0 };
}

function readGraph(bytes: Uint8Array, path: string) {
  const graph = fields(bytes, path, {
    1: ['node', message(readNode, `${path}.node`)],
    2: ['name', str],
    5: ['initializer', message(readTensor, `${path}.initializer`)],
    11: ['input', message(readValueInfo, `${path}.input`)],
    12: ['output', message(readValueInfo, `${path}.output`)],
    13: ['value_info', message(readValueInfo, `${path}.value_info`)],
  });
  const { node: nodes, initializer: initializers, input: inputs, output: outputs, value_info: valueInfo } = graph;
  return { graphName: graph.name.at(-1) ?? '', nodes, initializers, inputs, outputs, valueInfo };
}

function readNode(bytes: Uint8Array, path: string): OnnxNodeInfo {
  const node = fields(bytes, path, {
    1: ['input', str],
    2: ['output', str],
    3: ['name', str],
    4: ['op_type', str],
    5: ['attribute', message(readAttribute, `${path}.attribute`)],
    7: ['domain', str],
  });
  const { input: inputs, output: outputs, attribute } = node;
  const [opType = '', domain = '', name = ''] = [node.op_type.at(-1), node.domain.at(-1), node.name.at(-1)];
  return { opType, domain, name, inputs, outputs, attributes: Object.fromEntries(attribute) };
}

/** AttributeProto; its `type` picks the value, else (writers before IR 2) the field that is set. */
function readAttribute(bytes: Uint8Array, path: string): [string, OnnxAttribute] {
  const a = fields(bytes, path, {
    1: ['name', str],
    2: ['f', float],
    3: ['i', int],
    4: ['s', str],
    5: ['t', message(readTensor, `${path}.t`, false)],
    6: ['g', sub],
    7: ['floats', (r, wire) => numbers(r, wire, Bit32)],
    8: ['ints', (r, wire) => numbers(r, wire, Varint)],
    9: ['strings', str],
    20: ['type', int],
  });
  const set = [0, a.f, a.i, a.s, a.t, a.g, a.floats, a.ints, a.strings].map((v) => typeof v !== 'number' && v.length);
  const type = a.type.at(-1) || [4, 5, 6, 7, 8, 3, 2, 1].find((k) => set[k]) || 0;
  const name = a.name.at(-1) ?? '';
  const t = a.t.at(-1);
  if (type === 1) return [name, { f: a.f.at(-1) ?? 0 }];
  if (type === 2) return [name, { i: a.i.at(-1) ?? 0 }];
  if (type === 3) return [name, { s: a.s.at(-1) ?? '' }];
  if (type === 4 && t) return [name, { t: { dims: t.dims, elemType: t.elemType, values: t.values } }];
  if (type === 5) return [name, { g: true }];
  if (type === 6) return [name, { floats: a.floats.flat() }];
  if (type === 7) return [name, { ints: a.ints.flat() }];
  if (type === 8) return [name, { strings: a.strings }];
  return [name, { other: type }];
}

/** Little-endian raw_data of the types whose values are read: float32, int32, int64. */
const VALUE_READERS: Record<number, [number, (view: DataView, at: number) => number]> = {
  1: [4, (view, at) => view.getFloat32(at, true)],
  6: [4, (view, at) => view.getInt32(at, true)],
  7: [8, (view, at) => Number(view.getBigInt64(at, true))],
};

/** TensorProto: name, type and dims; its values only when a small float32/int32/int64 tensor. */
function readTensor(bytes: Uint8Array, path: string): OnnxInitializer {
  const typed: number[] = [];
  const t = fields(bytes, path, {
    1: ['dims', (r, wire) => numbers(r, wire, Varint)],
    2: ['data_type', int],
    4: ['float_data', (r, wire) => numbers(r, wire, Bit32, typed, VALUES_LIMIT + 1)],
    5: ['int32_data', (r, wire) => numbers(r, wire, Varint, typed, VALUES_LIMIT + 1)],
    7: ['int64_data', (r, wire) => numbers(r, wire, Varint, typed, VALUES_LIMIT + 1)],
    8: ['name', str],
    9: ['raw_data', sub],
    13: ['external_data', sub],
    14: ['data_location', int],
  });
  const dataType = t.data_type.at(-1) ?? 0;
  const dims = t.dims.flat();
  const external = t.external_data.length > 0 || t.data_location.at(-1) === 1;
  const tensor: OnnxInitializer = { name: t.name.at(-1) ?? '', elemType: elemType(dataType), dims, external };
  const count = dims.reduce((n, d) => n * d, 1);
  const [width, get] = VALUE_READERS[dataType] ?? [0];
  const raw = t.raw_data.at(-1);
  if (!get || count > VALUES_LIMIT || external) return tensor;
  if (raw?.length === count * width) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
    tensor.values = Array.from({ length: count }, (_, i) => get(view, i * width));
  } else if (!raw && typed.length === count) {
    tensor.values = typed;
  }
  return tensor;
}

function readValueInfo(bytes: Uint8Array, path: string): OnnxTensorInfo {
  const info = fields(bytes, path, { 1: ['name', str], 2: ['type', message(readType, `${path}.type`, false)] });
  const type = info.type.at(-1);
  return { name: info.name.at(-1) ?? '', elemType: type?.elemType ?? 'unknown(0)', shape: type?.shape ?? null };
}

/** TypeProto: a (sparse) tensor's elem_type and shape; sequences, maps and optionals stay unknown. */
function readType(bytes: Uint8Array, path: string) {
  const type = fields(bytes, path, {
    1: ['tensor_type', message(readTensorType, `${path}.tensor_type`, false)],
    8: ['sparse_tensor_type', message(readTensorType, `${path}.sparse_tensor_type`, false)],
  });
  return type.tensor_type.at(-1) ?? type.sparse_tensor_type.at(-1);
}

function readTensorType(bytes: Uint8Array, path: string) {
  const type = fields(bytes, path, { 1: ['elem_type', int], 2: ['shape', message(readShape, `${path}.shape`, false)] });
  return { elemType: elemType(type.elem_type.at(-1) ?? 0), shape: type.shape.at(-1) ?? null };
}

function readShape(bytes: Uint8Array, path: string): (number | string | null)[] {
  return fields(bytes, path, { 1: ['dim', message(readDim, `${path}.dim`)] }).dim;
}

function readDim(bytes: Uint8Array, path: string): number | string | null {
  const dim = fields(bytes, path, { 1: ['dim_value', int], 2: ['dim_param', str] });
  return dim.dim_value.at(-1) ?? dim.dim_param.at(-1) ?? null;
}
