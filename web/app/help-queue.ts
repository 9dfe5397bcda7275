import type { Suggestion } from '../../protocol/train.ts';

export interface HelpQueueView {
  /** Shows the drawings the model is least sure of, each with its own label picker. */
  show(suggestions: Suggestion[]): void;
  /** Removes one drawing once labelled. */
  done(predictionId: string): void;
}

/** Each suggestion's drawing at 2× (56 px), greyscale, as predict took it (784 values, row-major). */
function thumbnail(input: Float32Array): HTMLCanvasElement {
  const side = Math.round(Math.sqrt(input.length));
  const canvas = Object.assign(document.createElement('canvas'), { width: side, height: side });
  canvas.className = 'thumb';
  canvas.setAttribute('role', 'img');
  const context = canvas.getContext('2d');
  if (context) {
    const image = context.createImageData(side, side);
    input.forEach((value, i) => {
      const grey = Math.round(255 * (1 - value));
      image.data.set([grey, grey, grey, 255], i * 4);
    });
    context.putImageData(image, 0, 0);
  }
  return canvas;
}

/**
 * The "help the model" queue: a list of uncertain drawings; `onLabel` records the label the
 * user picks for one.
 *
 * @example
 * const queue = createHelpQueue(list, (id, label) => client.feedback(id, label));
 * queue.show((await client.suggest({ k: 5 })).suggestions);
 */
export function createHelpQueue(
  list: HTMLElement,
  onLabel: (predictionId: string, label: number) => void,
): HelpQueueView {
  return {
    show(suggestions) {
      if (suggestions.length === 0) {
        list.replaceChildren(
          Object.assign(document.createElement('li'), { textContent: 'Nothing to ask: every drawing is labelled.' }),
        );
        return;
      }
      list.replaceChildren(
        ...suggestions.map((s) => {
          const item = document.createElement('li');
          item.dataset.predictionId = s.predictionId;
          const picture = thumbnail(s.input);
          picture.setAttribute(
            'aria-label',
            `A drawing the model reads as ${s.label}, unsure (margin ${s.margin.toFixed(2)})`,
          );
          const select = document.createElement('select');
          select.setAttribute('aria-label', 'Its digit');
          for (let d = 0; d < 10; d++) select.append(new Option(String(d), String(d), false, d === s.label));
          const button = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Label' });
          button.addEventListener('click', () => onLabel(s.predictionId, Number(select.value)));
          const guess = Object.assign(document.createElement('span'), {
            className: 'note',
            textContent: `reads as ${s.label} (${(100 * (s.outputs[s.label] ?? 0)).toFixed(0)}%)`,
          });
          item.append(picture, guess, select, button);
          return item;
        }),
      );
    },
    done(predictionId) {
      for (const item of list.querySelectorAll<HTMLElement>('li'))
        if (item.dataset.predictionId === predictionId) item.remove();
    },
  };
}
