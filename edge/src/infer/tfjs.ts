import { type GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { type LayersModel, loadLayersModel } from '@tensorflow/tfjs-layers';
import { executeGraph } from '../../../models/formats/graph-run.ts';
import { toTfjs } from '../../../models/formats/tfjs-data.ts';
import { EdgeloopError, ErrorCode } from '../../../protocol/errors.ts';
import type { Manifest } from '../../../protocol/manifest.ts';
import type { ModelJson } from '../../../protocol/model-json.ts';
import { castData, type Tensor } from '../../../protocol/oip-tensor.ts';
import { ApiError } from '../http/api-error.ts';
import { inChunks } from './chunks.ts';
import { lane } from './lane.ts';

// The tfjs adapter of the edge: tfjs layers and graph models on the cpu backend (pure JS:
// workerd compiles no WebAssembly from bytes and has no GPU). tfjs errors are translated here, once.

/** A loaded tfjs model, by format: a layers model predicts, a graph model executes named tensors. */
export type TfjsModel = { format: 'tfjs-layers'; model: LayersModel } | { format: 'tfjs-graph'; model: GraphModel };

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

/** model.json's parts as tfjs's memory loader takes them. */
function artifacts(modelJson: ModelJson, shards: ArrayBuffer[]): tf.io.ModelArtifacts {
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights) as tf.io.WeightsManifestEntry[];
  return {
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData: shards,
    ...(modelJson.signature ? { signature: modelJson.signature as object } : {}),
  };
}

/**
 * Builds a layers model from its verified model.json and weight shards (nothing is fetched).
 *
 * @example
 * const model = await buildLayersModel(parseModelJson(bytes, 'model.json'), [weights], 'digits v3');
 */
export async function buildLayersModel(
  modelJson: ModelJson,
  shards: ArrayBuffer[],
  label: string,
): Promise<LayersModel> {
  try {
    await cpuBackend();
    return await loadLayersModel(tf.io.fromMemory(artifacts(modelJson, shards)));
  } catch (error) {
    throw failed(`${label} could not be loaded`, error);
  }
}

/**
 * Builds a version's tfjs model of either format from its verified files.
 *
 * @example
 * const loaded = await buildTfjsModel('tfjs-graph', modelJson, shards, 'mobilenet v1');
 */
export async function buildTfjsModel(
  format: TfjsModel['format'],
  modelJson: ModelJson,
  shards: ArrayBuffer[],
  label: string,
): Promise<TfjsModel> {
  if (format === 'tfjs-layers') return { format, model: await buildLayersModel(modelJson, shards, label) };
  try {
    await cpuBackend();
    return { format, model: await loadGraphModel(tf.io.fromMemory(artifacts(modelJson, shards))) };
  } catch (error) {
    throw failed(`${label} could not be loaded`, error);
  }
}

/**
 * Runs a model on checked inputs (in the manifest's order) and returns its outputs in the
 * manifest's order and dtypes, flat: `rowsPerChunk` examples at a time, each chunk after
 * `owner`'s turn on the isolate's lane, so that a big batch does not hold the isolate (rows do
 * not interact in inference: the answer is the same).
 *
 * @example
 * const [probs] = await runTfjs(loaded, manifest, [{ shape: [16, 28, 28, 1], data }], 'digits v3', 5, 'client:c_1');
 */
export function runTfjs(
  loaded: TfjsModel,
  manifest: Pick<Manifest, 'inputs' | 'outputs'>,
  inputs: Tensor[],
  label: string,
  rowsPerChunk: number,
  owner: string,
): Promise<Tensor[]> {
  return lane.within(owner, (turn) =>
    inChunks(inputs, rowsPerChunk, async (chunk) => {
      await turn();
      return runOnce(loaded, manifest, chunk, label);
    }),
  );
}

/**
 * One batch through the model, at once; tfjs errors become 500s, inputs tfjs cannot carry 400s.
 *
 * @example
 * const outputs = await runOnce(loaded, manifest, inputs, 'mobilenet v1');
 */
export async function runOnce(
  loaded: TfjsModel,
  manifest: Pick<Manifest, 'inputs' | 'outputs'>,
  inputs: Tensor[],
  label: string,
): Promise<Tensor[]> {
  let feeds: tf.Tensor[];
  try {
    feeds = inputs.map((input, i) => {
      const spec = manifest.inputs[i];
      const { values, dtype } = toTfjs(input.data, spec?.dtype ?? 'float32', `input "${spec?.name}"`);
      return tf.tensor(values, input.shape, dtype);
    });
  } catch (error) {
    if (error instanceof EdgeloopError) throw new ApiError(400, ErrorCode.INVALID_INPUT, error.message);
    throw failed(`${label} failed to run`, error);
  }
  let outputs: tf.Tensor[] = [];
  try {
    if (loaded.format === 'tfjs-layers') {
      const out = tf.tidy(() => loaded.model.predict(feeds.length === 1 ? (feeds[0] as tf.Tensor) : feeds));
      outputs = Array.isArray(out) ? out : [out];
    } else {
      const named = Object.fromEntries(manifest.inputs.map((spec, i) => [spec.name, feeds[i] as tf.Tensor]));
      outputs = await executeGraph(
        loaded.model,
        named,
        manifest.outputs.map((o) => o.name),
      );
    }
    return await Promise.all(
      outputs.map(async (y, i) => ({
        shape: [...y.shape],
        data: castData(
          (await y.data()) as Float32Array | Int32Array | Uint8Array,
          manifest.outputs[i]?.dtype ?? 'float32',
        ),
      })),
    );
  } catch (error) {
    throw failed(`${label} failed to run`, error);
  } finally {
    tf.dispose([...feeds, ...outputs]);
  }
}

/** Frees a model's weights. */
export function disposeTfjs(loaded: TfjsModel | LayersModel): void {
  if ('format' in loaded) loaded.model.dispose();
  else loaded.dispose();
}
