import * as tf from '@tensorflow/tfjs-core';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { BackendName, TrainProgress, TrainResult } from '../../protocol/worker-api.ts';
import { missingKernel } from '../backends/errors.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { accuracy } from './evaluate.ts';
import { type Examples, feedbackExamples, replayCount, roleExamples } from './examples.ts';
import { type FitOptions, fitOnFeedback } from './fit.ts';
import { RunRecorder } from './record-run.ts';

/** A fine-tune that costs more held-out accuracy than this is discarded (1.5 points). */
export const MAX_HOLDOUT_DROP = 0.015;

/**
 * Fine-tunes the loaded model on the user's feedback mixed with the replay buffer shipped with
 * the model, measuring accuracy on the standard held-out set and on the feedback examples before
 * and after. The fine-tuned weights replace the served ones (same registry version: this is a
 * local fine-tune) unless held-out accuracy dropped by more than MAX_HOLDOUT_DROP, in which case
 * the previous weights are restored and `applied` is false.
 *
 * The training is recorded as an experiment run on the edge (see RunRecorder): a run that could
 * not be recorded leaves `runError` on the result and never fails the training.
 *
 * @example
 * const result = await trainOnFeedback(runtime, loaded, { epochs: 5, replayRatio: 4, learningRate: 1e-3 }, report);
 */
export async function trainOnFeedback(
  runtime: Runtime,
  loaded: LoadedModel,
  options: FitOptions,
  onProgress: (progress: TrainProgress) => void,
): Promise<TrainResult> {
  const start = performance.now();
  const feedback = await feedbackExamples(runtime, loaded);
  if (feedback.count === 0) {
    throw new EdgeloopError('NO_FEEDBACK', `no labelled predictions of ${loaded.name} on this device to learn from`);
  }
  const replay = await roleExamples(runtime, loaded, 'replay');
  const run = new RunRecorder(runtime.edge, {
    model: loaded.name,
    version: loaded.version,
    clientId: runtime.clientId,
    params: {
      epochs: options.epochs,
      replayRatio: options.replayRatio,
      learningRate: options.learningRate,
      // Where training starts; the tag trained_backend says where it ran (cpu when wasm lacks a kernel).
      backend: runtime.backends.active ?? 'cpu',
      examples: feedback.count,
      replayExamples: replayCount(feedback.count, options.replayRatio, replay.count),
    },
  });
  const report = (progress: TrainProgress): void => {
    run.epoch(progress.epoch, progress.loss);
    onProgress(progress);
  };
  let result: TrainResult;
  try {
    result = await fineTune(runtime, loaded, { feedback, replay, options, onProgress: report }, start);
  } catch (error) {
    // The run says the training failed; the caller still gets the training's own error.
    await run.fail(error);
    throw error;
  }
  // durationMs was taken before this: recording is not part of the training's time.
  return { ...result, ...(await run.finish(result)) };
}

/** Measures, fits and keeps or discards the new weights (see trainOnFeedback). */
async function fineTune(runtime: Runtime, loaded: LoadedModel, inputs: FitInputs, start: number): Promise<TrainResult> {
  const { feedback, replay, options } = inputs;
  const holdout = await roleExamples(runtime, loaded, 'holdout');
  const holdoutBefore = await accuracy(loaded, holdout);
  const feedbackBefore = await accuracy(loaded, feedback);

  const snapshot = tf.tidy(() => loaded.model.getWeights().map((w) => tf.clone(w)));
  try {
    const ran = await fitOnSomeBackend(runtime, loaded, snapshot, inputs);
    const holdoutAfter = await accuracy(loaded, holdout);
    const feedbackAfter = await accuracy(loaded, feedback);
    const applied = holdoutBefore - holdoutAfter <= MAX_HOLDOUT_DROP;
    if (applied) loaded.fineTuned = true;
    else loaded.model.setWeights(snapshot);
    const notes = [
      `local fine-tune of ${loaded.name} v${loaded.version}, not a registry version`,
      ...(ran.note ? [ran.note] : []),
      ...(applied ? [] : [`discarded: held-out accuracy fell by more than ${MAX_HOLDOUT_DROP * 100} points`]),
    ];
    return {
      v: 1,
      backend: ran.backend,
      examples: feedback.count,
      replayExamples: replayCount(feedback.count, options.replayRatio, replay.count),
      epochs: options.epochs,
      durationMs: performance.now() - start,
      holdoutBefore,
      holdoutAfter,
      feedbackBefore,
      feedbackAfter,
      version: loaded.version,
      localFineTune: true,
      applied,
      note: notes.join('; '),
    };
  } finally {
    tf.dispose(snapshot);
  }
}

interface FitInputs {
  feedback: Examples;
  replay: Examples;
  options: FitOptions;
  onProgress: (progress: TrainProgress) => void;
}

/**
 * Trains on the active backend; when that is wasm and it lacks a training kernel (tfjs-wasm has
 * no Conv2DBackpropFilter unless Edgeloop's kernels provide it) trains on cpu instead and says
 * so, then returns to wasm.
 */
async function fitOnSomeBackend(
  runtime: Runtime,
  loaded: LoadedModel,
  snapshot: tf.Tensor[],
  { feedback, replay, options, onProgress }: FitInputs,
): Promise<{ backend: BackendName; note?: string }> {
  const serving = runtime.backends.active ?? 'cpu';
  try {
    await fitOnFeedback(loaded, feedback, replay, options, onProgress);
    return { backend: serving };
  } catch (error) {
    const kernel = error instanceof EdgeloopError ? missingKernel(error) : null;
    // Only from wasm: moving weights off WebGPU reads them synchronously, which can yield zeros.
    if (kernel === null || serving !== 'wasm') throw error;
    // Gradients fail before any update is applied, but restore anyway so cpu starts clean.
    loaded.model.setWeights(snapshot);
    await runtime.backends.activate('cpu', runtime.env, runtime.backendConfig);
    try {
      await fitOnFeedback(loaded, feedback, replay, options, onProgress);
    } finally {
      await runtime.backends.activate(serving, runtime.env, runtime.backendConfig);
    }
    return { backend: 'cpu', note: `${serving} lacks training kernel ${kernel}, so training ran on cpu` };
  }
}
