import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { seededRandom } from '../../protocol/random.ts';
import { encodeExamples } from '../../protocol/tensors/examples.ts';
import { layersFiles } from './layers-files.ts';

// A small regression model trained here, as a user would bring one: 8 numbers → 1 value, an MLP
// (Dense 32 relu, Dense 16 relu, Dense 1) fitted to
//
//   y = Σ aᵢ·xᵢ + sin(x₀ + x₁)      on its usual inputs, x ~ U(−1, 1)
//
// with replay and held-out examples of the same relation in the safetensors container.

/** Values one input holds. */
export const REGRESSION_SIZE = 8;
const A = [0.8, -0.5, 0.3, 0.6, -0.2, 0.4, -0.7, 0.1];

/**
 * The relation the model learnt from its usual inputs.
 *
 * @example
 * usualValue(new Float32Array(8)); // 0
 */
export function usualValue(x: ArrayLike<number>): number {
  return A.reduce((sum, a, i) => sum + a * (x[i] as number), 0) + Math.sin((x[0] as number) + (x[1] as number));
}

/**
 * `count` inputs, flat, each value `around` ± 1 (0: the usual inputs).
 *
 * @example
 * const xs = regressionInputs(50, seededRandom(1), 1); // a user's inputs, off the usual ones
 */
export function regressionInputs(count: number, random: () => number, around = 0): Float32Array {
  return Float32Array.from({ length: count * REGRESSION_SIZE }, () => around + (random() * 2 - 1));
}

/** `answer` of each input in flat `xs`. */
export function valuesOf(xs: Float32Array, answer: (x: Float32Array) => number): Float32Array {
  const n = xs.length / REGRESSION_SIZE;
  return Float32Array.from({ length: n }, (_, i) =>
    answer(xs.subarray(i * REGRESSION_SIZE, (i + 1) * REGRESSION_SIZE)),
  );
}

/**
 * The model's files, by name: `model.json` and `weights.bin` (tfjs layers), and with `examples`
 * `replay.safetensors` and `holdout.safetensors` (500 usual inputs each). Trains on the active
 * tfjs backend (cpu takes about a second); the same files every time.
 *
 * @example
 * const files = await regressionModelFiles({ examples: true });
 */
export async function regressionModelFiles({ examples }: { examples: boolean }): Promise<Record<string, Uint8Array>> {
  const random = seededRandom(7);
  const init = (seed: number) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed }) });
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [REGRESSION_SIZE], units: 32, activation: 'relu', ...init(1) }),
      tfl.layers.dense({ units: 16, activation: 'relu', ...init(2) }),
      tfl.layers.dense({ units: 1, ...init(3) }),
    ],
  });
  const train = regressionInputs(2000, random);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  const x = tf.tensor2d(train, [2000, REGRESSION_SIZE]);
  const y = tf.tensor2d(valuesOf(train, usualValue), [2000, 1]);
  // Unshuffled: tfjs shuffles with Math.random, and the files must not depend on it.
  await model.fit(x, y, { epochs: 40, batchSize: 64, verbose: 0, shuffle: false });
  tf.dispose([x, y]);
  const files = await layersFiles(model);
  model.dispose();
  if (examples) {
    for (const role of ['replay', 'holdout']) {
      const xs = regressionInputs(500, random);
      files[`${role}.safetensors`] = encodeExamples({
        shape: [REGRESSION_SIZE],
        inputs: xs,
        labels: valuesOf(xs, usualValue),
      });
    }
  }
  return files;
}
