import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Manifest } from '../../protocol/manifest.ts';
import { bytes } from './helpers.ts';

// A tfjs-layers model made in the test: one dense layer y = x·K + b (3 inputs, 2 outputs) with
// given weights, so every answer of /v2 infer can be checked by hand.

export type Weights = { kernel: number[][]; bias: number[] };

/** The weights most /v2 tests use: y = [x0 + x2 + 0.5, 2·x1 − x2 − 0.5]. */
export const DENSE_WEIGHTS: Weights = {
  kernel: [
    [1, 0],
    [0, 2],
    [1, -1],
  ],
  bias: [0.5, -0.5],
};

/** y = x·K + b, as the model computes it. */
export const denseOf =
  ({ kernel, bias }: Weights) =>
  (x: number[]): number[] =>
    [0, 1].map((j) => x.reduce((sum, xi, i) => sum + xi * (kernel[i]?.[j] ?? 0), bias[j] ?? 0));

/** The manifest of a dense model named `name`: input `x` [-1, 3], output `y` [-1, 2]. */
export const denseManifest = (name: string): Manifest => ({
  v: 1,
  name,
  format: 'tfjs-layers',
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 2] }],
  features: { features: [] },
  files: [
    { path: 'model.json', role: 'model' },
    { path: 'weights.bin', role: 'weights' },
  ],
});

/** model.json and weights.bin of `model`, saved by tfjs itself as Edgeloop stores them; disposes the model. */
export async function savedFiles(model: tfl.LayersModel): Promise<Record<string, Uint8Array>> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const artifacts = saved as tf.io.ModelArtifacts | null;
  if (!artifacts?.weightSpecs || !(artifacts.weightData instanceof ArrayBuffer)) throw new Error('nothing saved');
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
  };
  return { 'model.json': bytes(JSON.stringify(modelJson)), 'weights.bin': new Uint8Array(artifacts.weightData) };
}

/** model.json and weights.bin of the dense model with `weights`. */
export async function denseFiles({ kernel, bias }: Weights): Promise<Record<string, Uint8Array>> {
  await tf.setBackend('cpu');
  return savedFiles(
    tfl.sequential({
      layers: [tfl.layers.dense({ units: 2, inputShape: [3], weights: [tf.tensor2d(kernel), tf.tensor1d(bias)] })],
    }),
  );
}
