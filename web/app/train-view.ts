import type { TrainProgress, TrainResult } from '../../protocol/worker-api.ts';

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
    progress({ epoch, epochs, loss }) {
      bar.max = epochs;
      bar.value = epoch;
      progressText.textContent = `Epoch ${epoch} of ${epochs}, loss ${loss.toFixed(4)}`;
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
  };
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

function describeTraining(t: TrainResult): string {
  return (
    `Trained on ${t.backend}: ${t.examples} of your examples + ${t.replayExamples} replayed, ${t.epochs} epochs. ` +
    `Held-out accuracy ${percent(t.holdoutBefore)} → ${percent(t.holdoutAfter)}; ` +
    `on your examples ${percent(t.feedbackBefore)} → ${percent(t.feedbackAfter)}.` +
    (t.runId ? ` Recorded as run ${t.runId}.` : t.runError ? ` Run not recorded (${t.runError}).` : '')
  );
}
