import * as tf from '@tensorflow/tfjs-core';
import type { TrainProgress } from '../../protocol/worker-api.ts';
import { onBackend } from '../backends/errors.ts';
import type { LoadedModel } from '../runtime.ts';
import { type Examples, exampleTensors, mixWithReplay } from './examples.ts';

export interface FitOptions {
  epochs: number;
  replayRatio: number;
  learningRate: number;
}

/** Small batches: a fine-tune has few examples and wants many small steps. */
const BATCH_SIZE = 16;

/**
 * Fine-tunes the model in place on the feedback examples, each epoch mixed with fresh replay
 * examples so it keeps what it knew. Reports each epoch's loss.
 *
 * @example
 * await fitOnFeedback(loaded, feedback, replay, { epochs: 5, replayRatio: 4, learningRate: 1e-3 }, console.log);
 */
export async function fitOnFeedback(
  loaded: LoadedModel,
  feedback: Examples,
  replay: Examples,
  options: FitOptions,
  onEpoch: (progress: TrainProgress) => void,
): Promise<void> {
  const optimizer = tf.train.adam(options.learningRate);
  try {
    loaded.model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const mixed = mixWithReplay(feedback, replay, options.replayRatio);
      const { xs, ys } = exampleTensors(mixed, loaded.inputShape, loaded.classes);
      try {
        const history = await onBackend('train', () =>
          loaded.model.fit(xs, ys, { epochs: 1, batchSize: BATCH_SIZE, shuffle: true, verbose: 0 }),
        );
        const loss = Number(history.history.loss?.[0] ?? Number.NaN);
        onEpoch({ v: 1, epoch, epochs: options.epochs, loss });
      } finally {
        xs.dispose();
        ys.dispose();
      }
    }
  } finally {
    optimizer.dispose();
  }
}
