import type { GraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelJson } from '../../protocol/model-json.ts';
import { onBackend } from '../backends/errors.ts';

/**
 * Builds a LayersModel from memory (no tfjs fetches: the bytes were verified first).
 *
 * @example
 * const model = await buildModel(parseModelJson(modelBytes, 'model.json'), [weightBytes]);
 */
export async function buildModel(modelJson: ModelJson, shards: ArrayBuffer[]): Promise<tfl.LayersModel> {
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights) as tf.io.WeightsManifestEntry[];
  const handler = tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData: shards });
  return onBackend('load model', () => tfl.loadLayersModel(handler));
}

/**
 * Builds a tfjs graph model from memory. tfjs-converter is imported on first use only, so a
 * page serving layers models never downloads it.
 *
 * @example
 * const graph = await buildGraph(parseModelJson(modelBytes, 'model.json'), shards);
 */
export async function buildGraph(modelJson: ModelJson, shards: ArrayBuffer[]): Promise<GraphModel> {
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights) as tf.io.WeightsManifestEntry[];
  const artifacts = {
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData: shards,
    ...(modelJson.signature ? { signature: modelJson.signature as object } : {}),
  };
  return onBackend('load model', () => loadGraphModel(tf.io.fromMemory(artifacts)));
}
