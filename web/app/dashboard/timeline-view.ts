import { type DashboardApi, getAlias } from './api.ts';
import { timeline } from './rounds-format.ts';
import { failureText, note } from './rounds-view.ts';
import { formatTime } from './series.ts';
import { fillSelect } from './table.ts';

const text = (tag: string, content: string, className?: string): HTMLElement =>
  Object.assign(document.createElement(tag), { textContent: content, ...(className ? { className } : {}) });

/**
 * Wires the rollout timeline: the chosen alias's moves, rollouts and rollbacks, newest first,
 * each with its time, versions, reason (where a policy writes its numbers) and key. Returns
 * the function that redraws it for a model and its aliases.
 *
 * @example
 * const refresh = wireTimeline(api, byId('timeline-alias', HTMLSelectElement), byId('timeline', HTMLElement));
 * await refresh('digits', ['production', 'staging']);
 */
export function wireTimeline(
  api: DashboardApi,
  select: HTMLSelectElement,
  parent: HTMLElement,
): (model: string, aliases: readonly string[]) => Promise<void> {
  let model = '';
  // A newer draw (another choice made meanwhile) wins over one still waiting for its answer.
  let latest = 0;
  async function draw(): Promise<void> {
    const ticket = ++latest;
    const alias = select.value;
    if (!alias) {
      parent.replaceChildren(note(`${model} has no aliases.`));
      return;
    }
    try {
      const info = await getAlias(api, model, alias);
      if (ticket !== latest) return;
      const list = document.createElement('ol');
      list.className = 'timeline';
      list.setAttribute('aria-label', `Rollout timeline of ${alias}, newest first`);
      list.append(
        ...timeline(info).map((entry) => {
          const item = document.createElement('li');
          item.dataset.kind = entry.kind;
          const when = text('time', formatTime(entry.at));
          when.setAttribute('datetime', new Date(entry.at).toISOString());
          item.append(
            when,
            text('strong', entry.kind),
            text('span', entry.change),
            text('span', entry.reason, 'reason'),
            text('span', `key ${entry.keyId}`, 'key'),
          );
          return item;
        }),
      );
      parent.replaceChildren(list);
    } catch (error) {
      if (ticket === latest) parent.replaceChildren(note(`Timeline unavailable: ${failureText(error)}`));
    }
  }
  select.addEventListener('change', () => void draw());
  return async (name, aliases) => {
    const keep = name === model ? select.value : 'production';
    model = name;
    fillSelect(
      select,
      aliases.map((a) => [a, a] as const),
      keep,
    );
    await draw();
  };
}
