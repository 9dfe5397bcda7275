import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import type { Manifest } from '../../protocol/manifest.ts';
import { savedFiles } from './dense-model.ts';
import { ADMIN_KEY, publish, sendJson } from './helpers.ts';

// The model of the Open Inference Protocol's inference example ("a model with two inputs"),
// as close as Edgeloop serves it: tfjs-layers, FP32/INT32 tensors, every input batched.
//   input0  INT32 [-1, 2]  (the spec's UINT32 [2, 2])
//   input1  FP32  [-1, 1]  (the spec's BOOL [3], its flags sent as 1/0, one per row: tfjs-layers
//                           cannot take rank-1 inputs, it widens them to [n, 1] before checking)
//   output0 FP32  [-1, 2] = input0 + 0.1 · input1   (row by row)
//   output1 FP32  [-1, 1] = input0[0] + input0[1]
// so every answer is checked by hand (specOutputs).

/** The manifest of the spec model named `name`. */
export const specManifest = (name: string): Manifest => ({
  v: 1,
  name,
  format: 'tfjs-layers',
  inputs: [
    { name: 'input0', dtype: 'int32', shape: [-1, 2] },
    { name: 'input1', dtype: 'float32', shape: [-1, 1] },
  ],
  outputs: [
    { name: 'output0', dtype: 'float32', shape: [-1, 2] },
    { name: 'output1', dtype: 'float32', shape: [-1, 1] },
  ],
  features: { features: [] },
  files: [
    { path: 'model.json', role: 'model' },
    { path: 'weights.bin', role: 'weights' },
  ],
});

/** output0 and output1 (flat, row-major) of the spec model for rows of input0 and input1's flags. */
export function specOutputs(input0: number[][], input1: number[]): { output0: number[]; output1: number[] } {
  return {
    output0: input0.flatMap(([a = 0, b = 0], i) => [a + 0.1 * (input1[i] ?? 0), b + 0.1 * (input1[i] ?? 0)]),
    output1: input0.map(([a = 0, b = 0]) => a + b),
  };
}

/** model.json and weights.bin of the spec model, built and saved by tfjs itself. */
export async function specFiles(): Promise<Record<string, Uint8Array>> {
  await tf.setBackend('cpu');
  const input0 = tfl.input({ shape: [2], dtype: 'int32', name: 'input0' });
  const input1 = tfl.input({ shape: [1], name: 'input1' });
  const identity = tfl.layers.dense({
    units: 2,
    useBias: false,
    weights: [
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
    ],
  });
  const scaled = tfl.layers.dense({ units: 2, useBias: false, weights: [tf.tensor2d([[0.1, 0.1]])] });
  const output0 = tfl.layers
    .add({ name: 'output0' })
    .apply([identity.apply(input0), scaled.apply(input1)] as tfl.SymbolicTensor[]) as tfl.SymbolicTensor;
  const output1 = tfl.layers
    .dense({ units: 1, name: 'output1', weights: [tf.tensor2d([[1], [1]]), tf.tensor1d([0])] })
    .apply(input0) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: [input0, input1], outputs: [output0, output1] });
  return savedFiles(model);
}

/** Publishes the spec model as `name` v1 and points its production alias at it. */
export async function publishSpecModel(name: string): Promise<void> {
  const res = await publish(name, await specFiles(), specManifest(name));
  expect(res.status, await res.clone().text()).toBe(201);
  const alias = await sendJson('PUT', `/v1/models/${name}/aliases/production`, { version: 1 }, ADMIN_KEY);
  expect(alias.status).toBe(200);
}
