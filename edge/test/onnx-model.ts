import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

// Tiny ONNX models written in the test (ModelProto on the wire, field numbers from onnx.proto),
// so that what ORT answers can be checked by hand.

const ELEM = { float32: 1, int64: 7 } as const;
/** A dimension: a size, or a symbol for any size. */
type Dim = number | string;

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** INT attributes (e.g. Softmax's axis). */
  ints?: Record<string, number>;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  /** Constant float32 tensors (weights) by name. */
  initializers?: Record<string, { dims: number[]; data: number[] }>;
  inputs: Record<string, Dim[]>;
  outputs: Record<string, Dim[]>;
}

const LD = WireType.LengthDelimited;
const VARINT = WireType.Varint;
const message = (w: BinaryWriter, field: number, fill: (w: BinaryWriter) => void) => {
  w.tag(field, LD).fork();
  fill(w);
  w.join();
};

/** ValueInfoProto of a float32 tensor. */
function valueInfo(w: BinaryWriter, field: number, name: string, dims: Dim[]) {
  message(w, field, (info) => {
    info.tag(1, LD).string(name);
    message(info, 2, (type) =>
      message(type, 1, (tensor) => {
        tensor.tag(1, VARINT).int32(ELEM.float32);
        message(tensor, 2, (shape) => {
          for (const d of dims) {
            message(shape, 1, (dim) =>
              typeof d === 'string' ? dim.tag(2, LD).string(d) : dim.tag(1, VARINT).int64(d),
            );
          }
        });
      }),
    );
  });
}

/**
 * The bytes of an ONNX model (IR 8, opset 13) computing `graph`, inputs and outputs float32.
 *
 * @example
 * onnxModel({ nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], inputs: { x: ['N', 2] }, outputs: { y: ['N', 2] } });
 */
export function onnxModel(graph: OnnxGraph): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, VARINT).int64(8); // ir_version
  w.tag(2, LD).string('edgeloop-test');
  message(w, 7, (g) => {
    for (const [i, node] of graph.nodes.entries()) {
      message(g, 1, (n) => {
        for (const input of node.inputs) n.tag(1, LD).string(input);
        for (const output of node.outputs) n.tag(2, LD).string(output);
        n.tag(3, LD).string(`${node.op}_${i}`);
        n.tag(4, LD).string(node.op);
        for (const [name, value] of Object.entries(node.ints ?? {})) {
          message(n, 5, (a) => {
            a.tag(1, LD).string(name);
            a.tag(3, VARINT).int64(value);
            a.tag(20, VARINT).int32(2); // AttributeProto.INT
          });
        }
      });
    }
    g.tag(2, LD).string('test');
    for (const [name, { dims, data }] of Object.entries(graph.initializers ?? {})) {
      message(g, 5, (t) => {
        for (const d of dims) t.tag(1, VARINT).int64(d);
        t.tag(2, VARINT).int32(ELEM.float32);
        t.tag(8, LD).string(name);
        t.tag(9, LD).bytes(new Uint8Array(Float32Array.from(data).buffer));
      });
    }
    for (const [name, dims] of Object.entries(graph.inputs)) valueInfo(g, 11, name, dims);
    for (const [name, dims] of Object.entries(graph.outputs)) valueInfo(g, 12, name, dims);
  });
  message(w, 8, (o) => {
    o.tag(1, LD).string('');
    o.tag(2, VARINT).int64(13);
  });
  return w.finish();
}

/** W [4, 3] and B [3] of {@link gemmModel}. */
export const GEMM = {
  w: [
    [0.5, -1, 0.25],
    [1, 0.5, -0.5],
    [-0.25, 2, 1],
    [0, -0.5, 1.5],
  ],
  b: [0.1, -0.2, 0.3],
};

/** hidden = Relu(x·W + B), probs = Softmax(hidden) over the last axis: x [N, 4] → [N, 3] each. */
export const gemmModel = (): Uint8Array =>
  onnxModel({
    nodes: [
      { op: 'Gemm', inputs: ['x', 'W', 'B'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['hidden'] },
      { op: 'Softmax', inputs: ['hidden'], outputs: ['probs'], ints: { axis: 1 } },
    ],
    initializers: { W: { dims: [4, 3], data: GEMM.w.flat() }, B: { dims: [3], data: GEMM.b } },
    inputs: { x: ['N', 4] },
    outputs: { hidden: ['N', 3], probs: ['N', 3] },
  });

/** {@link gemmModel} by hand, in doubles: hidden and probs of one row x. */
export function gemmOf(x: readonly number[]): { hidden: number[]; probs: number[] } {
  const hidden = GEMM.b.map((b, j) =>
    Math.max(
      0,
      x.reduce((sum, xi, i) => sum + xi * (GEMM.w[i]?.[j] ?? 0), b),
    ),
  );
  const exp = hidden.map(Math.exp);
  const total = exp.reduce((a, b) => a + b, 0);
  return { hidden, probs: exp.map((e) => e / total) };
}

/** sum = a + b, both [N, 3]: a shape only ORT can refuse (N must agree between the inputs). */
export const addModel = (): Uint8Array =>
  onnxModel({
    nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
    inputs: { a: ['N', 3], b: ['N', 3] },
    outputs: { sum: ['N', 3] },
  });
