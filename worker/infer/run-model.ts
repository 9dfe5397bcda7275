import type { GraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { executeGraph } from '../../models/formats/graph-run.ts';
import { toTfjs } from '../../models/formats/tfjs-data.ts';
import { trialShape } from '../../models/formats/trial.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { asFloat32, castData, type Tensor, type TensorData } from '../../protocol/oip-tensor.ts';
import type { BackendName } from '../../protocol/worker-api.ts';
import { onBackend } from '../backends/errors.ts';
import type { BackendRegistry } from '../backends/registry.ts';
import type { LoadedModel } from '../runtime.ts';
import type { OnnxSession } from './onnx.ts';

/** The manifest's inputs and outputs: names, dtypes and shapes, in the model's order. */
export type Signature = Pick<Manifest, 'inputs' | 'outputs'>;

/** What running a model needs: the model and the shape of one input without the batch axis. */
export interface Runnable {
  /** A tfjs-layers version's model; for the other formats a stand-in that only disposes. */
  model: tfl.LayersModel;
  inputShape: number[];
  signature: Signature;
  /** Set when ONNX Runtime runs the model (format onnx, or init `runtime: 'onnx'`). */
  onnx?: OnnxSession;
  /** Set for a tfjs-graph version: predicts execute it. */
  graph?: GraphModel;
}

/**
 * Runs one input of the first input's values through the model on the active backend and reads
 * the first output back, as float32. Intermediate tensors are freed by tidy, the output right
 * after it is read.
 *
 * @example
 * const probabilities = await runModel(loaded, new Float32Array(784));
 */
export async function runModel(runnable: Runnable, input: Float32Array): Promise<Float32Array> {
  if (runnable.onnx || runnable.graph) {
    const spec = runnable.signature.inputs[0];
    const feed = { shape: [1, ...runnable.inputShape], data: castData(input, spec?.dtype ?? 'float32') };
    const [first] = await runFeeds(runnable, [feed]);
    return asFloat32(first?.data ?? new Float32Array());
  }
  const output = await onBackend('predict', () =>
    tf.tidy(() => firstOutput(runnable.model.predict(tf.tensor(input, [1, ...runnable.inputShape])))),
  );
  try {
    return (await onBackend('read prediction', () => output.data())) as Float32Array;
  } finally {
    output.dispose();
  }
}

/**
 * Runs checked feeds (protocol order, feeds.ts) through the model, whatever its format, and
 * returns every output in the manifest's order and dtypes.
 *
 * @example
 * const [probs, top] = await runFeeds(loaded, feedsOf(manifest, { x, ids }));
 */
export async function runFeeds(runnable: Runnable, feeds: Tensor[]): Promise<Tensor[]> {
  const { signature } = runnable;
  if (runnable.onnx) return runnable.onnx.runAll(feeds, signature);
  const inputs = feeds.map((feed, i) => {
    const { values, dtype } = toTfjs(feed.data, signature.inputs[i]?.dtype ?? 'float32');
    return tf.tensor(values, feed.shape, dtype);
  });
  let outputs: tf.Tensor[] = [];
  try {
    const { graph } = runnable;
    if (graph) {
      const named = Object.fromEntries(signature.inputs.map((spec, i) => [spec.name, inputs[i] as tf.Tensor]));
      const wanted = signature.outputs.map((o) => o.name);
      outputs = await onBackend('predict', () => executeGraph(graph, named, wanted));
    } else {
      const result = await onBackend('predict', () =>
        tf.tidy(() => runnable.model.predict(inputs.length === 1 ? (inputs[0] as tf.Tensor) : inputs)),
      );
      outputs = Array.isArray(result) ? result : [result];
    }
    return await Promise.all(
      outputs.map(async (y, i) => ({
        shape: [...y.shape],
        data: castData(
          (await onBackend('read prediction', () => y.data())) as TensorData,
          signature.outputs[i]?.dtype ?? 'float32',
        ),
      })),
    );
  } finally {
    tf.dispose([...inputs, ...outputs]);
  }
}

/** The first output of `model.predict`, which returns an array for multi-output models. */
export function firstOutput(result: tf.Tensor | tf.Tensor[]): tf.Tensor {
  const output = Array.isArray(result) ? result[0] : result;
  if (!output) throw new Error('the model produced no output');
  return output;
}

/**
 * Mean milliseconds per predict after one untimed warm-up (which compiles shaders and moves
 * the weights to the active backend).
 *
 * @example
 * const ms = await timePredicts(loaded, 5);
 */
export async function timePredicts(runnable: Runnable, runs: number): Promise<number> {
  // Zeros; the first input in the shape the model was built for (a layers model's own).
  const feeds = runnable.signature.inputs.map((spec, i) => {
    const shape = i === 0 ? [1, ...runnable.inputShape] : trialShape(spec);
    return { shape, data: castData(new Float32Array(shape.reduce((n, d) => n * d, 1)), spec.dtype) };
  });
  await runFeeds(runnable, feeds);
  const start = performance.now();
  for (let i = 0; i < runs; i++) await runFeeds(runnable, feeds);
  return (performance.now() - start) / runs;
}

/**
 * What predicts of `loaded` run on now: the ORT execution provider an ONNX model was loaded on,
 * else the active tfjs backend (train may have moved it), else the one the model was loaded on.
 *
 * @example
 * servingBackend(runtime.backends, loaded); // 'wasm', or 'onnx-wasm' with init runtime 'onnx'
 */
export function servingBackend(backends: Pick<BackendRegistry, 'active'>, loaded: LoadedModel): BackendName {
  return loaded.onnx ? loaded.backend.backend : (backends.active ?? loaded.backend.backend);
}
