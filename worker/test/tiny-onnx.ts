import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { FakeFile } from './fake-edge.ts';

// A hand-written ONNX model for tests, independent of the exporter in models/onnx/: the same
// dense softmax layer as tiny-model.ts's tfjs model, so both runtimes must give the same answer.
// Field numbers are onnx.proto3's (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).

const FLOAT = 1;
const INT64 = 7;

type Fill = (w: BinaryWriter) => void;
const message = (w: BinaryWriter, field: number, fill: Fill): void => {
  w.tag(field, WireType.LengthDelimited).fork();
  fill(w);
  w.join();
};
const text = (w: BinaryWriter, field: number, value: string): void => {
  w.tag(field, WireType.LengthDelimited).string(value);
};
const int64 = (w: BinaryWriter, field: number, value: number): void => {
  w.tag(field, WireType.Varint).int64(value);
};

/** TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian). */
function initializer(w: BinaryWriter, name: string, dims: number[], data: Float32Array | BigInt64Array): void {
  message(w, 5, (t) => {
    for (const d of dims) int64(t, 1, d);
    t.tag(2, WireType.Varint).int32(data instanceof BigInt64Array ? INT64 : FLOAT);
    text(t, 8, name);
    t.tag(9, WireType.LengthDelimited).bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  });
}

/** ValueInfoProto → TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1): dim_value (1) | dim_param (2). */
function valueInfo(w: BinaryWriter, field: 11 | 12, name: string, dims: (number | string)[]): void {
  message(w, field, (v) => {
    text(v, 1, name);
    message(v, 2, (type) =>
      message(type, 1, (tensor) => {
        tensor.tag(1, WireType.Varint).int32(FLOAT);
        message(tensor, 2, (shape) => {
          for (const d of dims)
            message(shape, 1, (dim) => (typeof d === 'string' ? text(dim, 2, d) : int64(dim, 1, d)));
        });
      }),
    );
  });
}

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5): name (1), i (3), type (20, INT = 2). */
function node(w: BinaryWriter, op: string, inputs: string[], output: string, axis?: number): void {
  message(w, 1, (n) => {
    for (const i of inputs) text(n, 1, i);
    text(n, 2, output);
    text(n, 3, `${op}_${output}`);
    text(n, 4, op);
    if (axis !== undefined) {
      message(n, 5, (a) => {
        text(a, 1, 'axis');
        int64(a, 3, axis);
        a.tag(20, WireType.Varint).int32(2);
      });
    }
  });
}

/**
 * An ONNX model computing softmax(reshape(x, [N, units]) · kernel + bias), with input `input`
 * [N, ...inputShape] (NHWC like tfjs) and output `probabilities` [N, classes]: what a tfjs
 * flatten → dense(softmax) model computes. `kernel` is row-major [units, classes] as tfjs stores it.
 *
 * @example
 * const bytes = denseSoftmaxOnnx([28, 28, 1], kernel, bias); // kernel: 7840 floats, bias: 10
 */
export function denseSoftmaxOnnx(inputShape: number[], kernel: Float32Array, bias: Float32Array): Uint8Array {
  const units = inputShape.reduce((a, b) => a * b, 1);
  const classes = bias.length;
  if (kernel.length !== units * classes) throw new Error(`kernel has ${kernel.length} floats, not ${units}×${classes}`);
  const w = new BinaryWriter();
  int64(w, 1, 8); // ir_version
  text(w, 2, 'edgeloop-test');
  message(w, 7, (g) => {
    node(g, 'Reshape', ['input', 'flat_shape'], 'flat');
    node(g, 'MatMul', ['flat', 'kernel'], 'logits_mm');
    node(g, 'Add', ['logits_mm', 'bias'], 'logits');
    node(g, 'Softmax', ['logits'], 'probabilities', -1);
    text(g, 2, 'tiny');
    initializer(g, 'flat_shape', [2], BigInt64Array.of(-1n, BigInt(units)));
    initializer(g, 'kernel', [units, classes], kernel);
    initializer(g, 'bias', [classes], bias);
    valueInfo(g, 11, 'input', ['N', ...inputShape]);
    valueInfo(g, 12, 'probabilities', ['N', classes]);
  });
  message(w, 8, (opset) => {
    text(opset, 1, '');
    int64(opset, 2, 13);
  });
  return w.finish();
}

/**
 * Adds `model.onnx` (role onnx) to tiny-model.ts's files, computing what their tfjs model does:
 * the kernel and bias are read from `weights.bin` in the order model.json lists them.
 *
 * @example
 * await edge.publish('digits', 1, withOnnxExport(await tinyModelFiles([28, 28, 1], 7)));
 */
export function withOnnxExport(files: FakeFile[], inputShape: number[] = [28, 28, 1]): FakeFile[] {
  const weights = files.find((f) => f.path === 'weights.bin')?.bytes;
  if (!weights) throw new Error('no weights.bin among the files');
  const floats = new Float32Array(weights.slice().buffer);
  const units = inputShape.reduce((a, b) => a * b, 1);
  const classes = floats.length / (units + 1);
  const kernel = floats.subarray(0, units * classes);
  const bias = floats.subarray(units * classes);
  const onnx: FakeFile = { path: 'model.onnx', role: 'onnx', bytes: denseSoftmaxOnnx(inputShape, kernel, bias) };
  return [...files, onnx];
}
