import type { RevertResult, TrainProgress, TrainResult } from '../../protocol/train.ts';

export interface TrainElements {
  bar: HTMLProgressElement;
  progressText: HTMLElement;
  result: HTMLElement;
}

export interface TrainView {
  start(): void;
  progress(progress: TrainProgress): void;
  /** Shows the outcome; the raw result goes on `data-result` only now, so its presence means "done". */
  done(result: TrainResult): void;
  failed(): void;
  reverted(result: RevertResult): void;
}

/**
 * @example
 * view.start();
 * view.done(await client.train({}, view.progress));
 */
export function createTrainView({ bar, progressText, result }: TrainElements): TrainView {
  return {
    start() {
      bar.removeAttribute('value');
      progressText.textContent = 'Preparing…';
      result.textContent = '';
      delete result.dataset.result;
    },
    progress({ epoch, epochs, loss, fold }) {
      bar.max = epochs;
      bar.value = epoch;
      const stage = fold ? `Checking fit ${fold.index} of ${fold.of}: ` : '';
      progressText.textContent = `${stage}epoch ${epoch} of ${epochs}, loss ${loss.toFixed(4)}`;
    },
    done(trained) {
      bar.max = 1;
      bar.value = 1;
      progressText.textContent = `Done in ${(trained.durationMs / 1000).toFixed(1)} s`;
      result.textContent = describeTraining(trained);
      result.dataset.result = JSON.stringify(trained);
    },
    failed() {
      bar.max = 1;
      bar.value = 0;
      progressText.textContent = 'Training failed';
    },
    reverted({ reverted, version }) {
      result.textContent = reverted
        ? `Your fine-tune was removed: the registry's v${version} serves again.`
        : `There was no fine-tune to remove: the registry's v${version} serves.`;
      delete result.dataset.result;
    },
  };
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
const rmse = (x: number) => x.toPrecision(3);

/** One paragraph: what trained where, how it was judged, and what was decided (with why). */
export function describeTraining(t: TrainResult): string {
  const judged =
    t.judgement.method === 'holdout'
      ? `${t.judgedExamples} of your ${t.examples} labels kept out of training`
      : `your ${t.examples} labels, by ${t.judgement.folds}-fold cross-validation`;
  const outcome = t.applied
    ? 'Applied: it serves now and after a reload.'
    : `Not applied, nothing changed: ${t.reasons.join('; ')}.`;
  const scores =
    t.task === 'regression'
      ? `RMSE ${rmse(t.feedbackBefore)} → ${rmse(t.feedbackAfter)}; standard held-out RMSE ${rmse(t.holdoutBefore)} → ${rmse(t.holdoutAfter)}.`
      : `${percent(t.feedbackBefore)} → ${percent(t.feedbackAfter)} right; standard held-out ${percent(t.holdoutBefore)} → ${percent(t.holdoutAfter)}.`;
  return (
    `Trained on ${t.backend}. Judged on ${judged}: ${scores} ${outcome}` +
    (t.runId ? ` Recorded as run ${t.runId}.` : t.runError ? ` Run not recorded (${t.runError}).` : '')
  );
}
