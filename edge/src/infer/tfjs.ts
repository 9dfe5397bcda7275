import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { type LayersModel, loadLayersModel } from '@tensorflow/tfjs-layers';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { ModelJson } from '../../../protocol/model-json.ts';
import type { Tensor } from '../../../protocol/oip-tensor.ts';
import { ApiError } from '../http/api-error.ts';
import { inChunks } from './chunks.ts';
import { lane } from './lane.ts';

// The tfjs adapter of the edge: tfjs-layers on the cpu backend (pure JS: workerd compiles no
// WebAssembly from bytes and has no GPU). tfjs errors are translated here, once.

let backend: Promise<void> | null = null;

/** Selects tfjs's cpu backend, once per isolate. */
function cpuBackend(): Promise<void> {
  backend ??= tf.setBackend('cpu').then((ok) => {
    if (!ok) throw new Error('the tfjs cpu backend did not start');
  });
  return backend;
}

const failed = (what: string, error: unknown) =>
  new ApiError(500, ErrorCode.INTERNAL, `${what}: ${error instanceof Error ? error.message : String(error)}`);

/**
 * Builds a layers model from its verified model.json and weight shards (nothing is fetched).
 *
 * @example
 * const model = await buildTfjsModel(parseModelJson(bytes, 'model.json'), [weights]);
 */
export async function buildTfjsModel(modelJson: ModelJson, shards: ArrayBuffer[], label: string): Promise<LayersModel> {
  try {
    await cpuBackend();
    const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights) as tf.io.WeightsManifestEntry[];
    return await loadLayersModel(
      tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData: shards }),
    );
  } catch (error) {
    throw failed(`${label} could not be loaded`, error);
  }
}

/**
 * Runs `model` on checked inputs (in the order of its inputs) and returns its outputs, flat:
 * `rowsPerChunk` examples at a time, each chunk after `owner`'s turn on the isolate's lane, so that
 * a big batch does not hold the isolate (rows do not interact in inference: the answer is the same).
 *
 * @example
 * const [probs] = await runTfjs(model, [{ shape: [16, 28, 28, 1], data }], 'digits v3', 5, 'client:c_1');
 */
export function runTfjs(
  model: LayersModel,
  inputs: Tensor[],
  label: string,
  rowsPerChunk: number,
  owner: string,
): Promise<Tensor[]> {
  return lane.within(owner, (turn) =>
    inChunks(inputs, rowsPerChunk, async (chunk) => {
      await turn();
      return runChunk(model, chunk, label);
    }),
  );
}

/** One chunk through the model, its outputs flat; tfjs errors become 500s. */
function runChunk(model: LayersModel, inputs: Tensor[], label: string): Tensor[] {
  try {
    return tf.tidy(() => {
      const xs = inputs.map((input) => tf.tensor(input.data, input.shape));
      const out = model.predict(xs.length === 1 ? (xs[0] as tf.Tensor) : xs);
      return (Array.isArray(out) ? out : [out]).map((y) => ({
        shape: [...y.shape],
        data: y.dataSync() as Float32Array,
      }));
    });
  } catch (error) {
    throw failed(`${label} failed to run`, error);
  }
}

/** Frees a model's weights. */
export function disposeTfjs(model: LayersModel): void {
  model.dispose();
}
