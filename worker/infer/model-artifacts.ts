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
