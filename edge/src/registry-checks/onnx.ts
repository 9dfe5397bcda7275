import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

// Whether a file is an ONNX ModelProto, read on the wire (field numbers of onnx/onnx.proto3,
// as models/onnx/onnx-proto.ts writes them): every field of the model and of its graph has the
// wire type the schema gives it and ends inside the file, and the parts ONNX Runtime needs are
// there. Fields this does not know are skipped, as protobuf readers do.

const { Varint, LengthDelimited } = WireType;

/** ModelProto: ir_version 1, producer_name 2, producer_version 3, domain 4, model_version 5, doc_string 6, graph 7, opset_import 8, metadata_props 14, training_info 20, functions 25, configuration 26. */
const MODEL_FIELDS: Record<number, [string, WireType]> = {
  1: ['ir_version', Varint],
  2: ['producer_name', LengthDelimited],
  3: ['producer_version', LengthDelimited],
  4: ['domain', LengthDelimited],
  5: ['model_version', Varint],
  6: ['doc_string', LengthDelimited],
  7: ['graph', LengthDelimited],
  8: ['opset_import', LengthDelimited],
  14: ['metadata_props', LengthDelimited],
  20: ['training_info', LengthDelimited],
  25: ['functions', LengthDelimited],
  26: ['configuration', LengthDelimited],
};

/** GraphProto: node 1, name 2, initializer 5, doc_string 10, input 11, output 12, value_info 13, quantization_annotation 14, sparse_initializer 15, metadata_props 16. */
const GRAPH_FIELDS: Record<number, [string, WireType]> = Object.fromEntries(
  (
    [
      [1, 'node'],
      [2, 'name'],
      [5, 'initializer'],
      [10, 'doc_string'],
      [11, 'input'],
      [12, 'output'],
      [13, 'value_info'],
      [14, 'quantization_annotation'],
      [15, 'sparse_initializer'],
      [16, 'metadata_props'],
    ] as const
  ).map(([field, name]) => [field, [name, LengthDelimited]]),
);

/** The fields of one message by name: the raw value of each occurrence (a varint as a number). */
function readMessage(bytes: Uint8Array, known: Record<number, [string, WireType]>, what: string) {
  const reader = new BinaryReader(bytes);
  const found = new Map<string, (number | Uint8Array)[]>();
  while (reader.pos < reader.len) {
    const at = reader.pos;
    let field: number;
    let wire: WireType;
    try {
      [field, wire] = reader.tag();
    } catch {
      throw new Error(`${what}: no valid field tag at byte ${at}`);
    }
    const spec = known[field];
    if (spec && spec[1] !== wire) throw new Error(`${what}.${spec[0]} has the wrong wire type (${wire})`);
    let value: number | Uint8Array;
    try {
      value = wire === LengthDelimited ? reader.bytes() : wire === Varint ? Number(reader.uint64()) : reader.skip(wire);
      if (reader.pos > reader.len) throw new RangeError('premature end');
    } catch {
      throw new Error(`${what}.${spec?.[0] ?? `field ${field}`} runs past the end of the file (at byte ${at})`);
    }
    if (spec) found.set(spec[0], [...(found.get(spec[0]) ?? []), value]);
  }
  return found;
}

/**
 * Why `bytes` are not an ONNX ModelProto with an IR version, an operator set and a graph with
 * outputs, or null.
 *
 * @example
 * onnxModelProblem(new TextEncoder().encode('not onnx')) // 'ModelProto: no valid field tag at byte 0'
 */
export function onnxModelProblem(bytes: Uint8Array): string | null {
  try {
    const model = readMessage(bytes, MODEL_FIELDS, 'ModelProto');
    const irVersion = model.get('ir_version')?.at(-1);
    if (typeof irVersion !== 'number' || irVersion < 1) return 'ModelProto.ir_version is missing';
    if (!model.has('opset_import')) return 'ModelProto.opset_import is missing';
    const graphs = model.get('graph') ?? [];
    if (graphs.length !== 1) return `ModelProto.graph appears ${graphs.length} times, not once`;
    const graph = readMessage(graphs[0] as Uint8Array, GRAPH_FIELDS, 'ModelProto.graph');
    if (!graph.has('output')) return 'ModelProto.graph.output is missing (a graph answers at least one output)';
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
