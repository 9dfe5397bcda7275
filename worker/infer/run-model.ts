import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { BackendName } from '../../protocol/worker-api.ts';
import { onBackend } from '../backends/errors.ts';
import type { BackendRegistry } from '../backends/registry.ts';
import type { LoadedModel } from '../runtime.ts';
import type { OnnxSession } from './onnx.ts';

/** What running a model needs: the model and the shape of one input without the batch axis. */
export interface Runnable {
  model: tfl.LayersModel;
  inputShape: number[];
  /** Set when ONNX Runtime runs the model (init `runtime: 'onnx'`): predicts go to it, not to `model`. */
  onnx?: OnnxSession;
}

/**
 * Runs one input through the model on the active backend and reads the first output back.
 * Intermediate tensors are freed by tidy, the output right after it is read.
 *
 * @example
 * const probabilities = await runModel(loaded, new Float32Array(784));
 */
export async function runModel(runnable: Runnable, input: Float32Array): Promise<Float32Array> {
  if (runnable.onnx) return runnable.onnx.run(input);
  const output = await onBackend('predict', () =>
    tf.tidy(() => firstOutput(runnable.model.predict(tf.tensor(input, [1, ...runnable.inputShape])))),
  );
  try {
    return (await onBackend('read prediction', () => output.data())) as Float32Array;
  } finally {
    output.dispose();
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
  const input = new Float32Array(runnable.inputShape.reduce((a, b) => a * b, 1));
  await runModel(runnable, input);
  const start = performance.now();
  for (let i = 0; i < runs; i++) await runModel(runnable, input);
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

/**
 * Index of the largest value (the first one on ties).
 *
 * @example
 * argmax([0.1, 0.7, 0.2]); // 1
 */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}
