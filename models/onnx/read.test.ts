import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { setBackend } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { seededRandom } from '../../protocol/random.ts';
import { exportOnnx, ONNX_IR_VERSION, ONNX_OPSET } from './export.ts';
import { encodeModel, type OnnxModel } from './onnx-proto.ts';
import { readOnnx } from './read.ts';
import { saveArtifacts } from './test-support.ts';

const { Varint, Bit32, LengthDelimited } = WireType;

beforeAll(async () => {
  await setBackend('cpu');
});

/** The INVALID_MODEL message readOnnx throws on `bytes`. */
function failure(bytes: Uint8Array): string {
  try {
    readOnnx(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(EdgeloopError);
    expect((error as EdgeloopError).code).toBe('INVALID_MODEL');
    return String(error);
  }
  throw new Error('readOnnx accepted the bytes');
}

/** Writes a length-delimited sub-message at `field`. */
function message(w: BinaryWriter, field: number, body: () => void): void {
  w.tag(field, LengthDelimited).fork();
  body();
  w.join();
}

/** encodeModel with the model-level fields filled in. */
const encoded = (graph: OnnxModel['graph']) =>
  encodeModel({ irVersion: 8, opset: 13, producerName: 'test', producerVersion: '1', docString: '', graph });

const text = (w: BinaryWriter, field: number, value: string) => w.tag(field, LengthDelimited).string(value);

/** ValueInfoProto of a tensor: elem_type and dims (a number, a name, or null for an empty Dimension); no shape when dims is null. */
function valueInfo(w: BinaryWriter, name: string, elemType: number, dims: (number | string | null)[] | null): void {
  text(w, 1, name);
  message(w, 2, () =>
    message(w, 1, () => {
      w.tag(1, Varint).int32(elemType);
      if (dims === null) return;
      message(w, 2, () => {
        for (const d of dims) {
          message(w, 1, () => {
            if (typeof d === 'number') w.tag(1, Varint).int64(d);
            else if (typeof d === 'string') text(w, 2, d);
          });
        }
      });
    }),
  );
}

/** A model written field by field: an int64 input, a bool output, and attributes of every kind. */
function handModel(): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, Varint).int64(9);
  text(w, 2, 'hand');
  message(w, 8, () => w.tag(2, Varint).int64(17));
  message(w, 8, () => text(w, 1, 'com.microsoft').tag(2, Varint).int64(1));
  message(w, 7, () => {
    message(w, 1, () => {
      text(w, 2, 'shape');
      text(w, 4, 'Constant');
      message(w, 5, () => {
        text(w, 1, 'value');
        message(w, 5, () => {
          w.tag(1, Varint).int64(2); // dims unpacked, as proto2 writers do
          w.tag(2, Varint).int32(7);
          w.tag(9, LengthDelimited).bytes(new Uint8Array(new BigInt64Array([-1n, 3n]).buffer));
        });
        w.tag(20, Varint).int32(4);
      });
    });
    message(w, 1, () => {
      for (const input of ['ids', 'limit']) text(w, 1, input);
      text(w, 2, 'mask');
      text(w, 3, 'compare');
      text(w, 4, 'Greater');
      text(w, 7, 'ai.onnx');
      message(w, 5, () => text(w, 1, 'k').tag(3, Varint).int64(-5).tag(20, Varint).int32(2));
      message(w, 5, () => text(w, 1, 'axes').tag(8, Varint).int64(1).tag(8, Varint).int64(-2).tag(20, Varint).int32(7));
      message(w, 5, () => {
        text(w, 1, 'scales');
        w.tag(7, LengthDelimited).fork().float(0.5).float(2).join();
        w.tag(20, Varint).int32(6);
      });
      message(w, 5, () => text(w, 1, 'names').tag(9, LengthDelimited).string('a').tag(9, LengthDelimited).string('ü'));
      message(w, 5, () => text(w, 1, 'alpha').tag(2, Bit32).float(1.5)); // no type: IR 1 style
      message(w, 5, () => text(w, 1, 'mode').tag(4, LengthDelimited).string('SAME_UPPER').tag(20, Varint).int32(3));
      message(w, 5, () => {
        text(w, 1, 'body');
        message(w, 6, () => text(w, 2, 'subgraph'));
        w.tag(20, Varint).int32(5);
      });
      message(w, 5, () => text(w, 1, 'sparse').tag(20, Varint).int32(11));
    });
    text(w, 2, 'hand-graph');
    message(w, 5, () => {
      w.tag(2, Varint).int32(7);
      text(w, 8, 'limit');
      w.tag(7, LengthDelimited).fork().int64(4).join();
    });
    message(w, 5, () => {
      w.tag(1, LengthDelimited).fork().int64(1000).int64(10).join();
      w.tag(2, Varint).int32(1);
      text(w, 8, 'table');
      message(w, 13, () => text(w, 1, 'location').tag(2, LengthDelimited).string('table.bin'));
      w.tag(14, Varint).int32(1);
    });
    message(w, 11, () => valueInfo(w, 'ids', 7, ['n', 3, null]));
    message(w, 11, () => valueInfo(w, 'limit', 7, []));
    message(w, 11, () => valueInfo(w, 'any', 1, null));
    message(w, 12, () => valueInfo(w, 'mask', 9, ['n', 3]));
    message(w, 13, () => valueInfo(w, 'shape', 7, [2]));
  });
  return w.finish();
}

describe('readOnnx', () => {
  it('reads the interface, initializers and nodes of a tfjs CNN exported by exportOnnx', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const { modelJson, shards } = await saveArtifacts(model);
    const bytes = exportOnnx(modelJson, shards, { inputName: 'image', outputName: 'probabilities' });
    const graph = readOnnx(bytes);
    expect(graph.irVersion).toBe(ONNX_IR_VERSION);
    expect(graph.opsets).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(graph.producer).toBe('edgeloop');
    expect(graph.inputs).toEqual([{ name: 'image', elemType: 'float32', shape: ['batch', 28, 28, 1] }]);
    expect(graph.outputs).toEqual([{ name: 'probabilities', elemType: 'float32', shape: ['batch', 10] }]);
    expect(graph.externalData).toBe(false);
    const ops = graph.nodes.map((n) => n.opType);
    expect(ops).toEqual(
      expect.arrayContaining(['Transpose', 'Conv', 'Relu', 'MaxPool', 'Flatten', 'MatMul', 'Softmax']),
    );
    const conv = graph.nodes.find((n) => n.opType === 'Conv');
    expect(conv?.attributes).toMatchObject({
      kernel_shape: { ints: [3, 3] },
      strides: { ints: [1, 1] },
      group: { i: 1 },
    });
    const dims = (name: string | undefined) => graph.initializers.find((t) => t.name === name)?.dims;
    expect(dims(conv?.inputs[1])).toEqual([8, 1, 3, 3]);
    expect(dims(conv?.inputs[2])).toEqual([8]);
    const matMul = graph.nodes.find((n) => n.opType === 'MatMul');
    expect(dims(matMul?.inputs[1])).toEqual([13 * 13 * 8, 10]);
    expect(graph.initializers.every((t) => t.elemType === 'float32' && !t.external)).toBe(true);
    expect(graph.nodes.find((n) => n.opType === 'Transpose')?.attributes).toEqual({ perm: { ints: [0, 3, 1, 2] } });
  });

  it('reads a model from encodeModel: symbolic dims, attributes, values of small initializers', () => {
    const attributes = { alpha: { f: 0.25 }, axes: { ints: [-1, 2] }, mode: { s: 'edge' }, n: { i: -3 } };
    const graph = readOnnx(
      encoded({
        name: 'g',
        nodes: [
          { opType: 'Reshape', name: 'r', inputs: ['x', 'shape'], outputs: ['y'], attributes: {} },
          { opType: 'LeakyRelu', name: 'a', inputs: ['y'], outputs: ['z'], attributes },
        ],
        initializers: [
          { name: 'shape', dims: [2], data: BigInt64Array.from([0n, -1n]) },
          { name: 'w', dims: [2, 3], data: new Float32Array(6) },
        ],
        inputs: [{ name: 'x', shape: ['batch', 'seq', 4] }],
        outputs: [{ name: 'z', shape: ['batch', 'seq4'] }],
      }),
    );
    expect(graph).toMatchObject({ irVersion: 8, opsets: [{ domain: '', version: 13 }], graphName: 'g' });
    expect(graph.inputs).toEqual([{ name: 'x', elemType: 'float32', shape: ['batch', 'seq', 4] }]);
    expect(graph.nodes[1]).toEqual({
      opType: 'LeakyRelu',
      domain: '',
      name: 'a',
      inputs: ['y'],
      outputs: ['z'],
      attributes,
    });
    expect(graph.initializers).toEqual([
      { name: 'shape', elemType: 'int64', dims: [2], external: false, values: [0, -1] },
      { name: 'w', elemType: 'float32', dims: [2, 3], external: false, values: [0, 0, 0, 0, 0, 0] },
    ]);
  });

  it('reads a hand-encoded model: int64 input, bool output, unpacked fields, untyped and sparse attributes, external data', () => {
    const graph = readOnnx(handModel());
    expect(graph).toMatchObject({ irVersion: 9, producer: 'hand', graphName: 'hand-graph', externalData: true });
    expect(graph.opsets.map(({ domain, version }) => `${domain}:${version}`)).toEqual([':17', 'com.microsoft:1']);
    // "limit" is an initializer, so not something a caller feeds.
    expect(graph.inputs).toEqual([
      { name: 'ids', elemType: 'int64', shape: ['n', 3, null] },
      { name: 'any', elemType: 'float32', shape: null },
    ]);
    expect(graph.outputs).toEqual([{ name: 'mask', elemType: 'bool', shape: ['n', 3] }]);
    expect(graph.valueInfo).toEqual([{ name: 'shape', elemType: 'int64', shape: [2] }]);
    expect(graph.nodes[0]?.attributes).toEqual({ value: { t: { dims: [2], elemType: 'int64', values: [-1, 3] } } });
    expect(graph.nodes[1]).toEqual({
      opType: 'Greater',
      domain: 'ai.onnx',
      name: 'compare',
      inputs: ['ids', 'limit'],
      outputs: ['mask'],
      attributes: {
        k: { i: -5 },
        axes: { ints: [1, -2] },
        scales: { floats: [0.5, 2] },
        names: { strings: ['a', 'ü'] },
        alpha: { f: 1.5 },
        mode: { s: 'SAME_UPPER' },
        body: { g: true },
        sparse: { other: 11 },
      },
    });
    expect(graph.initializers).toEqual([
      { name: 'limit', elemType: 'int64', dims: [], external: false, values: [4] },
      { name: 'table', elemType: 'float32', dims: [1000, 10], external: true },
    ]);
  });

  it('reads a 14 MB model without decoding its weights', () => {
    const weights = new Float32Array(3_500_000).fill(0.5);
    const bytes = encoded({
      name: 'big',
      nodes: [{ opType: 'MatMul', name: 'm', inputs: ['x', 'w'], outputs: ['y'], attributes: {} }],
      initializers: [{ name: 'w', dims: [3500, 1000], data: weights }],
      inputs: [{ name: 'x', shape: [1, 3500] }],
      outputs: [{ name: 'y', shape: [1, 1000] }],
    });
    expect(bytes.length).toBeGreaterThan(14_000_000);
    const graph = readOnnx(bytes);
    expect(graph.initializers).toEqual([{ name: 'w', elemType: 'float32', dims: [3500, 1000], external: false }]);
  });
});

describe('readOnnx: malformed input is INVALID_MODEL naming the field', () => {
  it('garbage, empty, truncated and wrongly typed fields', () => {
    expect(failure(new TextEncoder().encode('\x07 not onnx'))).toBe(
      '[INVALID_MODEL] ModelProto: no valid field tag at byte 0 of the message',
    );
    expect(failure(new Uint8Array())).toBe('[INVALID_MODEL] ModelProto.graph: is missing');
    const wrongType = new BinaryWriter().tag(1, LengthDelimited).string('8').finish();
    expect(failure(wrongType)).toBe('[INVALID_MODEL] ModelProto.ir_version: wire type 2 where the schema has 0');
    const seeded = seededRandom(7);
    const random = Uint8Array.from({ length: 4096 }, () => Math.floor(seeded() * 256));
    expect(failure(random)).toMatch(/^\[INVALID_MODEL\] ModelProto/);
    const truncated = handModel().subarray(0, -3);
    expect(failure(truncated)).toBe('[INVALID_MODEL] ModelProto.graph: runs past the end of its message (truncated?)');
  });

  it('a sub-message that runs past its end names its path', () => {
    const w = new BinaryWriter();
    message(w, 7, () => {
      message(w, 1, () => text(w, 4, 'Relu'));
      message(w, 1, () => {
        text(w, 4, 'Squeeze');
        const ints = Uint8Array.of(10, 1, 2); // a packed list of 10 bytes, 2 of them there
        message(w, 5, () => text(w, 1, 'axes').tag(8, LengthDelimited).raw(ints));
      });
    });
    expect(failure(w.finish())).toBe(
      '[INVALID_MODEL] ModelProto.graph.node[1].attribute[0].ints: runs past the end of its message (truncated?)',
    );
  });

  it('never throws anything but INVALID_MODEL on corrupted bytes', () => {
    const original = handModel();
    const random = seededRandom(11);
    let rejected = 0;
    for (let trial = 0; trial < 500; ++trial) {
      const bytes = original.slice(0, trial % 2 ? original.length : Math.floor(random() * original.length));
      for (let k = 0; k < 3; ++k) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      try {
        readOnnx(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(EdgeloopError);
        expect((error as EdgeloopError).code).toBe('INVALID_MODEL');
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });
});
