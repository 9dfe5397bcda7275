import type { PredictResult } from '../../protocol/predict.ts';

export interface PredictionView {
  show(result: PredictResult): void;
}

/**
 * Shows the predicted digit and one bar per class probability. The label element holds
 * only the digit, so it reads (and is tested) as exactly that.
 *
 * @example
 * const view = createPredictionView(labelElement, probsList);
 * view.show(await client.predict(input));
 */
export function createPredictionView(label: HTMLElement, probs: HTMLOListElement): PredictionView {
  return {
    show(result) {
      label.textContent = String(result.label);
      probs.replaceChildren(
        ...result.outputs.map((p, digit) => {
          const item = document.createElement('li');
          item.classList.toggle('top', digit === result.label);
          const name = Object.assign(document.createElement('span'), {
            className: 'digit',
            textContent: String(digit),
          });
          const bar = Object.assign(document.createElement('span'), { className: 'bar' });
          bar.setAttribute('aria-hidden', 'true');
          const fill = Object.assign(document.createElement('span'), { className: 'fill' });
          fill.style.width = `${(p * 100).toFixed(1)}%`;
          bar.append(fill);
          const value = Object.assign(document.createElement('span'), {
            className: 'value',
            textContent: `${(p * 100).toFixed(1)}%`,
          });
          item.append(name, bar, value);
          return item;
        }),
      );
      probs.hidden = false;
    },
  };
}
