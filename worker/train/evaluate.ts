import * as tf from '@tensorflow/tfjs-core';
import { onBackend } from '../backends/errors.ts';
import { firstOutput, type Runnable } from '../infer/run-model.ts';
import type { Examples } from './examples.ts';

/** Examples per forward pass while evaluating: large enough to be fast, small enough for a phone. */
const EVAL_BATCH = 256;

/**
 * Share of examples whose argmax prediction equals their label (0 for an empty set).
 *
 * @example
 * const before = await accuracy(loaded, holdout); // 0.97
 */
export async function accuracy(runnable: Runnable, examples: Examples): Promise<number> {
  if (examples.count === 0) return 0;
  let correct = 0;
  for (let start = 0; start < examples.count; start += EVAL_BATCH) {
    const count = Math.min(EVAL_BATCH, examples.count - start);
    const inputs = examples.inputs.subarray(start * examples.size, (start + count) * examples.size);
    const predicted = await onBackend('evaluate', () =>
      tf.tidy(() =>
        tf.argMax(
          firstOutput(runnable.model.predict(tf.tensor(inputs, [count, ...runnable.inputShape]), { batchSize: count })),
          -1,
        ),
      ),
    );
    try {
      const labels = await onBackend('evaluate', () => predicted.data());
      for (let i = 0; i < count; i++) if (labels[i] === examples.labels[start + i]) correct++;
    } finally {
      predicted.dispose();
    }
  }
  return correct / examples.count;
}
