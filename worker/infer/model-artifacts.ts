import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as v from 'valibot';
import { EdgeloopError } from '../../protocol/errors.ts';
import { onBackend } from '../backends/errors.ts';

/** The parts of a tfjs-layers `model.json` the worker reads. */
const ModelJson = v.looseObject({
  modelTopology: v.record(v.string(), v.unknown()),
  weightsManifest: v.array(
    v.object({
      paths: v.array(v.string()),
      weights: v.array(v.looseObject({ name: v.string(), shape: v.array(v.number()), dtype: v.string() })),
    }),
  ),
});
export type ModelJson = v.InferOutput<typeof ModelJson>;

/** Parses model.json bytes (already verified by digest). */
export function parseModelJson(bytes: ArrayBuffer, path: string): ModelJson {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new EdgeloopError('INVALID_MANIFEST', `${path} is not JSON`);
  }
  const parsed = v.safeParse(ModelJson, json);
  if (!parsed.success) throw new EdgeloopError('INVALID_MANIFEST', `${path}: ${parsed.issues[0].message}`);
  return parsed.output;
}

/**
 * The version-relative paths of the weight shards, in the order their bytes concatenate.
 * model.json names them relative to its own folder.
 */
export function weightPaths(modelJson: ModelJson, modelPath: string): string[] {
  const folder = modelPath.includes('/') ? modelPath.slice(0, modelPath.lastIndexOf('/') + 1) : '';
  return modelJson.weightsManifest.flatMap((group) => group.paths.map((p) => folder + p.replace(/^\.\//, '')));
}

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
