// Node-only: reads and writes the committed artifacts in models/digits/artifacts/.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from '@tensorflow/tfjs-core';
import { type LayersModel, loadLayersModel } from '@tensorflow/tfjs-layers';

/** Where `npm run train:digits` writes and tests read the digits artifacts. */
export const ARTIFACTS_DIR = fileURLToPath(new URL('./artifacts/', import.meta.url));

/**
 * Saves `model` as tfjs layers format: `model.json` (weightsManifest paths ["weights.bin"])
 * and `weights.bin` in `dir`.
 *
 * @example
 * await saveLayersModel(model, ARTIFACTS_DIR);
 */
export async function saveLayersModel(model: LayersModel, dir: string): Promise<void> {
  await model.save(
    io.withSaveHandler(async (artifacts) => {
      if (artifacts.weightSpecs === undefined || artifacts.weightData === undefined) {
        throw new Error('digits: the model has no weights to save');
      }
      const modelJson: io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy ?? 'tfjs-layers',
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        ...(artifacts.trainingConfig === undefined ? {} : { trainingConfig: artifacts.trainingConfig }),
      };
      writeFileSync(join(dir, 'model.json'), `${JSON.stringify(modelJson)}\n`);
      writeFileSync(
        join(dir, 'weights.bin'),
        new Uint8Array(new io.CompositeArrayBuffer(artifacts.weightData).slice()),
      );
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/**
 * Loads the layers model saved by {@link saveLayersModel} from `dir`.
 *
 * @example
 * const model = await loadLayersModelFromDir(ARTIFACTS_DIR);
 */
export async function loadLayersModelFromDir(dir: string): Promise<LayersModel> {
  const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as io.ModelJSON;
  const weights = readFileSync(join(dir, 'weights.bin'));
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  return loadLayersModel(io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
}

/**
 * Lowercase hex SHA-256 of a file, as the registry records it.
 *
 * @example
 * sha256File(join(ARTIFACTS_DIR, 'weights.bin'));
 */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
