import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * A tfjs layers model as the files a user's folder holds: `model.json` (topology and weights
 * manifest) and `weights.bin` (one shard), by name. Reads the weights on the active backend.
 *
 * @example
 * const files = await layersFiles(model); // { 'model.json': Uint8Array, 'weights.bin': Uint8Array }
 */
export async function layersFiles(model: tfl.LayersModel): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const json = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      files['model.json'] = new TextEncoder().encode(JSON.stringify(json));
      files['weights.bin'] = new Uint8Array(new tf.io.CompositeArrayBuffer(artifacts.weightData).slice());
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return files;
}
