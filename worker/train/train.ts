import type * as v from 'valibot';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { TrainOptions, TrainProgress, TrainResult } from '../../protocol/train.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { lineageVersions, trainTask, userExamples } from './examples.ts';
import { learningCache } from './features.ts';
import { fineTune } from './fine-tune.ts';
import { MIN_EXAMPLES } from './guard.ts';
import { RunRecorder } from './record-run.ts';

/**
 * Examples in the version's replay file, from the version's learning cache (which the fine-tune
 * reads next anyway, so the file is decoded once), not from its size, which an examples file's
 * header makes no multiple of anything. 0 when it cannot be read now: the training then fails
 * on it after the run is created, and the run says why.
 */
function replayCount(runtime: Runtime, loaded: LoadedModel): Promise<number> {
  return learningCache(runtime, loaded).then(
    (cache) => cache.replayInputs.count,
    () => 0,
  );
}

/** What a training is told besides its options. */
export interface TrainContext {
  signal: AbortSignal;
  onProgress: (progress: TrainProgress) => void;
  /** The base version of a fine-tune dropped because the alias moved: its labels are replayed too. */
  replayOf?: number;
}

/**
 * Fine-tunes a personal copy of the loaded model's head on the user's labels (see fine-tune.ts
 * for the method and the guard), recorded as an experiment run on the edge (RunRecorder): a run
 * that could not be recorded leaves `runError` on the result and never fails the training.
 * Fewer than MIN_EXAMPLES labelled predictions of the model's lineage: NO_FEEDBACK.
 *
 * @example
 * const result = await trainOnFeedback(runtime, loaded, options, { signal, onProgress: console.log });
 */
export async function trainOnFeedback(
  runtime: Runtime,
  loaded: LoadedModel,
  options: v.InferOutput<typeof TrainOptions>,
  context: TrainContext,
): Promise<TrainResult> {
  const start = performance.now();
  const task = trainTask(loaded.info.manifest) ?? 'classification';
  const lineage = lineageVersions(loaded, context.replayOf);
  const examples = await userExamples(runtime, loaded, lineage, undefined, task);
  if (examples.count < MIN_EXAMPLES) {
    throw new EdgeloopError(
      'NO_FEEDBACK',
      `${examples.count} ${task === 'regression' ? 'prediction' : 'labelled prediction'}${examples.count === 1 ? '' : 's'} ${task === 'regression' ? 'with a true value ' : ''}of ${loaded.name} v${loaded.version} on this device; a fine-tune needs at least ${MIN_EXAMPLES} to be judged`,
    );
  }
  const run = new RunRecorder(runtime.edge, {
    model: loaded.name,
    version: loaded.version,
    clientId: runtime.clientId,
    params: {
      method: 'gated-personal-head',
      task,
      epochs: options.epochs,
      replayRatio: options.replayRatio,
      learningRate: options.learningRate,
      augment: String(options.augment),
      backend: runtime.backends.active ?? 'cpu',
      examples: examples.count,
      replayExamples: await replayCount(runtime, loaded),
    },
  });
  const onProgress = (progress: TrainProgress): void => {
    if (!progress.fold) run.epoch(progress.epoch, progress.loss);
    context.onProgress(progress);
  };
  let result: TrainResult;
  try {
    const cache = await learningCache(runtime, loaded);
    result = await fineTune(runtime, loaded, { examples, cache, options, signal: context.signal, onProgress }, start);
  } catch (error) {
    // The run says the training failed; the caller still gets the training's own error.
    await run.fail(error);
    throw error;
  }
  // durationMs was taken before this: recording is not part of the training's time.
  const record = await run.finish(result);
  if (record.runId && result.applied && loaded.personal) {
    loaded.personal.state.runId = record.runId;
    const state = loaded.personal.state;
    await runtime.db.personal.update(loaded.name, { state }).catch(() => undefined);
  }
  return { ...result, ...record };
}
