import type { Manifest } from '../../protocol/manifest.ts';
import { DataType, encodeModel } from '../onnx/onnx-proto.ts';
import { GRAPH_WEIGHTS, graphOf } from './graph-model.ts';

// The ONNX twin of the sample graph model (graph-model.ts): the same weights and function, with
// ONNX's own types — ids int64, and a bool output — so a test can check ORT's dtypes by hand.
//
//   probs     = softmax(x · W + b)          x float32 [N, 4] → float32 [N, 3]
//   embedded  = E[ids]                      ids int64 [N] → float32 [N, 3]
//   confident = max(probs) > 0.5            → bool [N]

/**
 * The sample ONNX model's bytes (IR 8, opset 13).
 *
 * @example
 * const files = { 'model.onnx': onnxSampleModel() };
 */
export function onnxSampleModel(): Uint8Array {
  const { W, b, E } = GRAPH_WEIGHTS;
  return encodeModel({
    irVersion: 8,
    opset: 13,
    producerName: 'edgeloop models/samples',
    producerVersion: '1',
    docString: 'softmax(x·W + b), E[ids], max > 0.5',
    graph: {
      name: 'sample',
      nodes: [
        { opType: 'Gemm', name: 'gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'], attributes: {} },
        { opType: 'Softmax', name: 'softmax', inputs: ['logits'], outputs: ['probs'], attributes: { axis: { i: 1 } } },
        {
          opType: 'Gather',
          name: 'gather',
          inputs: ['E', 'ids'],
          outputs: ['embedded'],
          attributes: { axis: { i: 0 } },
        },
        {
          opType: 'ReduceMax',
          name: 'peak',
          inputs: ['probs'],
          outputs: ['peak'],
          attributes: { axes: { ints: [1] }, keepdims: { i: 0 } },
        },
        { opType: 'Greater', name: 'greater', inputs: ['peak', 'half'], outputs: ['confident'], attributes: {} },
      ],
      initializers: [
        { name: 'W', dims: [4, 3], data: Float32Array.from(W.flat()) },
        { name: 'b', dims: [3], data: Float32Array.from(b) },
        { name: 'E', dims: [5, 3], data: Float32Array.from(E.flat()) },
        { name: 'half', dims: [], data: Float32Array.of(0.5) },
      ],
      inputs: [
        { name: 'x', shape: ['N', 4] },
        { name: 'ids', shape: ['N'], elemType: DataType.INT64 },
      ],
      outputs: [
        { name: 'probs', shape: ['N', 3] },
        { name: 'embedded', shape: ['N', 3] },
        { name: 'confident', shape: ['N'], elemType: DataType.BOOL },
      ],
    },
  });
}

/** The sample ONNX model's manifest, as `edgeloop init` writes it. */
export const onnxSampleManifest = (name: string): Manifest => ({
  v: 1,
  name,
  format: 'onnx',
  inputs: [
    { name: 'x', dtype: 'float32', shape: [-1, 4] },
    { name: 'ids', dtype: 'int64', shape: [-1] },
  ],
  outputs: [
    { name: 'probs', dtype: 'float32', shape: [-1, 3] },
    { name: 'embedded', dtype: 'float32', shape: [-1, 3] },
    { name: 'confident', dtype: 'bool', shape: [-1] },
  ],
  task: 'classification',
  features: { features: [] },
  files: [{ path: 'model.onnx', role: 'model' }],
});

/**
 * What the sample ONNX model answers for one example, computed by hand.
 *
 * @example
 * onnxSampleOf([1, 0, 0, 0], 2).confident; // false
 */
export function onnxSampleOf(x: number[], id: number): { probs: number[]; embedded: number[]; confident: boolean } {
  const { probs, embedded } = graphOf(x, id);
  return { probs, embedded, confident: Math.max(...probs) > 0.5 };
}
