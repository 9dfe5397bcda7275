import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

// The few ONNX messages the exporter writes, encoded with @bufbuild/protobuf's wire writer.
// Hand-declared rather than generated: there is no protoc/buf codegen offline, and we need only
// about a dozen fields. Field numbers are those of onnx/onnx.proto3 (stable across IR versions).

/** ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8. */
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8 };
/** OperatorSetIdProto: domain 1, version 2. */
const OPSET = { domain: 1, version: 2 };
/** GraphProto: node 1, name 2, initializer 5, input 11, output 12. */
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 };
/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. */
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 };
/** AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (the AttributeType below). */
const ATTRIBUTE = { name: 1, f: 2, i: 3, s: 4, ints: 8, type: 20 };
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, ints: 7 };
/** TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian values). */
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 };
/** ValueInfoProto: name 1, type 2. TypeProto: tensor_type 1. TypeProto.Tensor: elem_type 1, shape 2. */
const VALUE_INFO = { name: 1, type: 2 };
const TYPE = { tensorType: 1 };
const TENSOR_TYPE = { elemType: 1, shape: 2 };
/** TensorShapeProto: dim 1. Dimension: dim_value 1, dim_param 2. */
const SHAPE = { dim: 1 };
const DIMENSION = { dimValue: 1, dimParam: 2 };

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9 } as const;

/** An attribute value: a float, an int, a list of ints, or a string. */
export type Attribute = { f: number } | { i: number } | { ints: readonly number[] } | { s: string };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
}

/** An initializer; `data` is encoded little-endian into raw_data. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** A graph input/output: float32 unless `elemType` says, each dimension a size or a symbolic name (e.g. "batch"). */
export interface OnnxValueInfo {
  name: string;
  shape: (number | string)[];
  elemType?: (typeof DataType)[keyof typeof DataType];
}

export interface OnnxModel {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  graph: {
    name: string;
    nodes: OnnxNode[];
    initializers: OnnxTensor[];
    inputs: OnnxValueInfo[];
    outputs: OnnxValueInfo[];
  };
}

/** Serialises `model` as ONNX ModelProto bytes. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new BinaryWriter();
  w.tag(MODEL.irVersion, WireType.Varint).int64(model.irVersion);
  w.tag(MODEL.producerName, WireType.LengthDelimited).string(model.producerName);
  w.tag(MODEL.producerVersion, WireType.LengthDelimited).string(model.producerVersion);
  w.tag(MODEL.docString, WireType.LengthDelimited).string(model.docString);
  w.tag(MODEL.graph, WireType.LengthDelimited).fork();
  writeGraph(w, model.graph);
  w.join();
  // The default ("") domain is the standard ai.onnx operator set.
  w.tag(MODEL.opsetImport, WireType.LengthDelimited).fork();
  w.tag(OPSET.domain, WireType.LengthDelimited).string('');
  w.tag(OPSET.version, WireType.Varint).int64(model.opset);
  w.join();
  return w.finish();
}

function writeGraph(w: BinaryWriter, graph: OnnxModel['graph']): void {
  for (const node of graph.nodes) message(w, GRAPH.node, () => writeNode(w, node));
  w.tag(GRAPH.name, WireType.LengthDelimited).string(graph.name);
  for (const tensor of graph.initializers) message(w, GRAPH.initializer, () => writeTensor(w, tensor));
  for (const input of graph.inputs) message(w, GRAPH.input, () => writeValueInfo(w, input));
  for (const output of graph.outputs) message(w, GRAPH.output, () => writeValueInfo(w, output));
}

function writeNode(w: BinaryWriter, node: OnnxNode): void {
  for (const input of node.inputs) w.tag(NODE.input, WireType.LengthDelimited).string(input);
  for (const output of node.outputs) w.tag(NODE.output, WireType.LengthDelimited).string(output);
  w.tag(NODE.name, WireType.LengthDelimited).string(node.name);
  w.tag(NODE.opType, WireType.LengthDelimited).string(node.opType);
  for (const [name, value] of Object.entries(node.attributes)) {
    message(w, NODE.attribute, () => writeAttribute(w, name, value));
  }
}

function writeAttribute(w: BinaryWriter, name: string, value: Attribute): void {
  w.tag(ATTRIBUTE.name, WireType.LengthDelimited).string(name);
  if ('f' in value) {
    w.tag(ATTRIBUTE.f, WireType.Bit32).float(value.f);
    w.tag(ATTRIBUTE.type, WireType.Varint).int32(ATTRIBUTE_TYPE.float);
  } else if ('i' in value) {
    w.tag(ATTRIBUTE.i, WireType.Varint).int64(value.i);
    w.tag(ATTRIBUTE.type, WireType.Varint).int32(ATTRIBUTE_TYPE.int);
  } else if ('ints' in value) {
    w.tag(ATTRIBUTE.ints, WireType.LengthDelimited).fork();
    for (const i of value.ints) w.int64(i);
    w.join();
    w.tag(ATTRIBUTE.type, WireType.Varint).int32(ATTRIBUTE_TYPE.ints);
  } else {
    w.tag(ATTRIBUTE.s, WireType.LengthDelimited).bytes(new TextEncoder().encode(value.s));
    w.tag(ATTRIBUTE.type, WireType.Varint).int32(ATTRIBUTE_TYPE.string);
  }
}

function writeTensor(w: BinaryWriter, tensor: OnnxTensor): void {
  w.tag(TENSOR.dims, WireType.LengthDelimited).fork();
  for (const d of tensor.dims) w.int64(d);
  w.join();
  const float = tensor.data instanceof Float32Array;
  w.tag(TENSOR.dataType, WireType.Varint).int32(float ? DataType.FLOAT : DataType.INT64);
  w.tag(TENSOR.name, WireType.LengthDelimited).string(tensor.name);
  w.tag(TENSOR.rawData, WireType.LengthDelimited).bytes(littleEndian(tensor.data));
}

/** raw_data is little-endian whatever the host; DataView makes that explicit. */
function littleEndian(data: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.length * data.BYTES_PER_ELEMENT);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; ++i) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i] as number, true);
    else view.setBigInt64(i * 8, data[i] as bigint, true);
  }
  return bytes;
}

function writeValueInfo(w: BinaryWriter, info: OnnxValueInfo): void {
  w.tag(VALUE_INFO.name, WireType.LengthDelimited).string(info.name);
  message(w, VALUE_INFO.type, () =>
    message(w, TYPE.tensorType, () => {
      w.tag(TENSOR_TYPE.elemType, WireType.Varint).int32(info.elemType ?? DataType.FLOAT);
      message(w, TENSOR_TYPE.shape, () => {
        for (const d of info.shape) {
          message(w, SHAPE.dim, () => {
            if (typeof d === 'number') w.tag(DIMENSION.dimValue, WireType.Varint).int64(d);
            else w.tag(DIMENSION.dimParam, WireType.LengthDelimited).string(d);
          });
        }
      });
    }),
  );
}

/** Writes a length-delimited sub-message at `field`. */
function message(w: BinaryWriter, field: number, body: () => void): void {
  w.tag(field, WireType.LengthDelimited).fork();
  body();
  w.join();
}
