import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setBackend } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModelJson } from '../../protocol/model-json.ts';
import { ARTIFACTS_DIR } from '../digits/artifacts.ts';
import { exportOnnx } from './export.ts';
import { type Attribute, encodeModel, type OnnxTensor, type OnnxValueInfo } from './onnx-proto.ts';
import { type OnnxGraph, readOnnx } from './read.ts';
import { saveArtifacts } from './test-support.ts';
import { onnxWork } from './work.ts';

beforeAll(async () => {
  await setBackend('cpu');
});

/** edge/src/infer/cost.ts forwardWork, recomputed (models/ does not compile edge code): params × positions + outputs. */
function tfjsWork(model: tfl.LayersModel): number {
  let work = 0;
  for (const layer of model.layers) {
    const shape = layer.outputShape as (number | null)[];
    const elements = shape.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1);
    const positions = elements / (shape.length > 1 ? (shape.at(-1) ?? 1) : 1);
    work += layer.countParams() * positions + elements;
  }
  return Math.ceil(work);
}

type NodeSpec = [opType: string, inputs: string[], outputs: string[], attributes?: Record<string, Attribute>];

/** A graph through the real encoder and reader: float32 inputs, zero weights, int64 constants. */
function onnx(inputs: OnnxValueInfo[], nodes: NodeSpec[], initializers: OnnxTensor[] = []): OnnxGraph {
  const bytes = encodeModel({
    irVersion: 8,
    opset: 13,
    producerName: 'test',
    producerVersion: '1',
    docString: '',
    graph: {
      name: 'g',
      nodes: nodes.map(([opType, ins, outs, attributes = {}], i) => ({
        opType,
        name: `n${i}`,
        inputs: ins,
        outputs: outs,
        attributes,
      })),
      initializers,
      inputs,
      outputs: [{ name: nodes.at(-1)?.[2][0] ?? '', shape: [] }],
    },
  });
  return readOnnx(bytes);
}

const weight = (name: string, dims: number[]): OnnxTensor => ({
  name,
  dims,
  data: new Float32Array(dims.reduce((n, d) => n * d, 1)),
});
const int64 = (name: string, values: number[], dims = [values.length]): OnnxTensor => ({
  name,
  dims,
  data: BigInt64Array.from(values, BigInt),
});

describe('onnxWork', () => {
  it('counts the ONNX export of the digits CNN within 5% of what forwardWork counts for the tfjs model', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 32, activation: 'relu' }),
        tfl.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const { modelJson, shards } = await saveArtifacts(model);
    const work = onnxWork(readOnnx(exportOnnx(modelJson, shards)));
    const expected = tfjsWork(model);
    expect(expected).toBe(218_108);
    expect(work.unknownOps).toEqual([]);
    expect(Math.abs(work.perExample / expected - 1)).toBeLessThan(0.05);
  });

  it('counts the committed digits CNN within 1% of its documented 715,396 tfjs work units', () => {
    const bytesOf = (file: string) => new Uint8Array(readFileSync(join(ARTIFACTS_DIR, file))).buffer;
    const onnx = exportOnnx(parseModelJson(bytesOf('model.json'), 'model.json'), [bytesOf('weights.bin')]);
    const work = onnxWork(readOnnx(onnx));
    expect(work.unknownOps).toEqual([]);
    expect(Math.abs(work.perExample / 715_396 - 1)).toBeLessThan(0.01);
  });

  it('counts a Gemm MLP and a batched MatMul MLP exactly', () => {
    const gemm = onnx(
      [{ name: 'x', shape: ['batch', 20] }],
      [
        ['Gemm', ['x', 'w1', 'b1'], ['h'], { transB: { i: 1 } }],
        ['Relu', ['h'], ['r']],
        ['Gemm', ['r', 'w2', 'b2'], ['y']],
        ['Softmax', ['y'], ['p']],
      ],
      [weight('w1', [16, 20]), weight('b1', [16]), weight('w2', [16, 4]), weight('b2', [4])],
    );
    // Gemm: 16 outputs × 20 products + 16 outputs; Relu 16; Gemm 4 × 16 + 4; Softmax 4.
    expect(onnxWork(gemm)).toEqual({ perExample: 336 + 16 + 68 + 4, unknownOps: [] });
    const matMul = onnx(
      [{ name: 'x', shape: ['batch', 5, 20] }],
      [
        ['MatMul', ['x', 'w1'], ['h']],
        ['Add', ['h', 'b1'], ['a']],
        ['Relu', ['a'], ['r']],
        ['MatMul', ['r', 'w2'], ['y']],
      ],
      [weight('w1', [20, 16]), weight('b1', [16]), weight('w2', [16, 4])],
    );
    expect(onnxWork(matMul)).toEqual({ perExample: 80 * 20 + 80 + 80 + 80 + 20 * 16 + 20, unknownOps: [] });
  });

  it('infers Reshape with 0 and -1, from an initializer and from a Shape → Gather → Unsqueeze → Concat chain', () => {
    const fixed = onnx(
      [{ name: 'x', shape: ['batch', 4, 6] }],
      [
        ['Reshape', ['x', 'shape'], ['r']],
        ['MatMul', ['r', 'w'], ['y']],
      ],
      [int64('shape', [0, -1, 8]), weight('w', [8, 5])],
    );
    // [1, 4, 6] → [1, 3, 8]: 24; MatMul → [1, 3, 5]: 15 × 8 + 15.
    expect(onnxWork(fixed)).toEqual({ perExample: 24 + 135, unknownOps: [] });
    const dynamic = onnx(
      [{ name: 'x', shape: ['batch', 4, 6] }],
      [
        ['Shape', ['x'], ['s']],
        ['Gather', ['s', 'zero'], ['n'], { axis: { i: 0 } }],
        ['Unsqueeze', ['n'], ['n1'], { axes: { ints: [0] } }],
        ['Concat', ['n1', 'rest'], ['target'], { axis: { i: 0 } }],
        ['Reshape', ['x', 'target'], ['flat']],
        ['Gemm', ['flat', 'w'], ['y']],
      ],
      [int64('zero', [0], []), int64('rest', [-1]), weight('w', [24, 3])],
    );
    // Shape 3, Gather 1, Unsqueeze 1, Concat 2, Reshape 24, Gemm [1, 24] × [24, 3]: 3 × 24 + 3.
    expect(onnxWork(dynamic)).toEqual({ perExample: 3 + 1 + 1 + 2 + 24 + 75, unknownOps: [] });
  });

  it('reports an op it cannot infer, counts its largest input once and guesses that shape downstream', () => {
    const graph = onnx(
      [{ name: 'x', shape: ['batch', 10] }],
      [
        ['Relu', ['x'], ['r']],
        ['FancyOp', ['r', 'small'], ['f']],
        ['Gemm', ['f', 'w'], ['y']],
      ],
      [weight('small', [2]), weight('w', [10, 3])],
    );
    expect(onnxWork(graph)).toEqual({ perExample: 10 + 10 + 3 * 10 + 3, unknownOps: ['FancyOp'] });
    graph.nodes[1] = { ...(graph.nodes[1] as OnnxGraph['nodes'][number]), opType: 'Relu', domain: 'com.example' };
    expect(onnxWork(graph).unknownOps).toEqual(['com.example.Relu']);
  });

  it('takes symbolic spatial dims from inputShapes, else 1', () => {
    const graph = onnx(
      [{ name: 'x', shape: ['batch', 3, 'height', 'width'] }],
      [
        ['Conv', ['x', 'w', 'b'], ['c'], { pads: { ints: [1, 1, 1, 1] } }],
        ['Relu', ['c'], ['r']],
        ['GlobalAveragePool', ['r'], ['g']],
        ['Flatten', ['g'], ['y']],
      ],
      [weight('w', [4, 3, 3, 3]), weight('b', [4])],
    );
    // Conv [1, 4, 32, 32]: 4096 outputs × 27 products + 4096; Relu 4096; pool 4; Flatten 4.
    expect(onnxWork(graph, { x: [1, 3, 32, 32] })).toEqual({ perExample: 4096 * 28 + 4096 + 8, unknownOps: [] });
    expect(onnxWork(graph).perExample).toBe(4 * 28 + 4 + 8);
  });

  it('follows Conv strides, groups, auto_pad, dilations; ConvTranspose; pooling with ceil_mode', () => {
    const work = (input: number[], spec: NodeSpec, initializers: OnnxTensor[] = []) =>
      onnxWork(onnx([{ name: 'x', shape: input }], [spec], initializers));
    const depthwise = work(
      [1, 8, 16, 16],
      ['Conv', ['x', 'w'], ['y'], { group: { i: 8 }, strides: { ints: [2, 2] }, auto_pad: { s: 'SAME_UPPER' } }],
      [weight('w', [8, 1, 3, 3])],
    );
    expect(depthwise).toEqual({ perExample: 8 * 8 * 8 * 10, unknownOps: [] });
    const dilated = work(
      [1, 1, 10, 10],
      ['Conv', ['x', 'w'], ['y'], { dilations: { ints: [2, 2] } }],
      [weight('w', [2, 1, 3, 3])],
    );
    expect(dilated.perExample).toBe(2 * 6 * 6 * 10);
    const transposed = work(
      [1, 4, 8, 8],
      ['ConvTranspose', ['x', 'w'], ['y'], { strides: { ints: [2, 2] } }],
      [weight('w', [4, 2, 2, 2])],
    );
    // Output [1, 2, 16, 16]; each of the 256 input elements feeds 2 × 2 × 2 products.
    expect(transposed.perExample).toBe(2 * 16 * 16 + 256 * 8);
    const pooled = work(
      [1, 1, 5, 5],
      ['MaxPool', ['x'], ['y'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } }],
    );
    expect(pooled.perExample).toBe(9);
  });
});
