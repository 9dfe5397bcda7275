import { type DashboardApi, getCard } from './api.ts';
import { type Block, type Inline, parseMarkdown } from './markdown.ts';
import { failureText, note } from './rounds-view.ts';
import { fillSelect } from './table.ts';

function inline(spans: readonly Inline[]): Node[] {
  return spans.map((span) => {
    if (span.kind === 'br') return document.createElement('br');
    if (span.kind === 'text') return document.createTextNode(span.text);
    return Object.assign(document.createElement(span.kind), { textContent: span.text });
  });
}

function element(tag: string, spans: readonly Inline[]): HTMLElement {
  const node = document.createElement(tag);
  node.append(...inline(spans));
  return node;
}

/** A block as elements; headings start at h3, under the panel's h2. */
function render(block: Block): HTMLElement {
  switch (block.kind) {
    case 'heading':
      return element(`h${Math.min(6, block.level + 2)}`, block.content);
    case 'paragraph':
      return element('p', block.content);
    case 'list': {
      const list = document.createElement('ul');
      list.append(...block.items.map((item) => element('li', item)));
      return list;
    }
    case 'code': {
      const pre = document.createElement('pre');
      pre.append(Object.assign(document.createElement('code'), { textContent: block.text }));
      return pre;
    }
    case 'table': {
      const table = document.createElement('table');
      const head = table.createTHead().insertRow();
      for (const cell of block.header) {
        const th = element('th', cell);
        th.setAttribute('scope', 'col');
        head.append(th);
      }
      const body = table.createTBody();
      for (const row of block.rows) body.insertRow().append(...row.map((cell) => element('td', cell)));
      return table;
    }
  }
}

/**
 * Wires the model card view: the chosen version's card, its Markdown drawn by a tiny reader
 * into elements (text only, never HTML). Returns the function that redraws it for a model's
 * versions, preferring `preferred` (the production version) when the model changed.
 *
 * @example
 * const refresh = wireCard(api, byId('card-version', HTMLSelectElement), byId('model-card', HTMLElement));
 * await refresh('digits', [1, 2], 2);
 */
export function wireCard(
  api: DashboardApi,
  select: HTMLSelectElement,
  parent: HTMLElement,
): (model: string, versions: readonly number[], preferred?: number) => Promise<void> {
  let model = '';
  // A newer draw (another choice made meanwhile) wins over one still waiting for its answer.
  let latest = 0;
  async function draw(): Promise<void> {
    const ticket = ++latest;
    const version = Number(select.value);
    if (!version) {
      parent.replaceChildren(note(`${model} has no versions.`));
      return;
    }
    try {
      const card = await getCard(api, model, version);
      if (ticket !== latest) return;
      const article = document.createElement('article');
      article.className = 'model-card';
      article.setAttribute('aria-label', `Model card of ${card.model} v${card.version}`);
      article.append(...parseMarkdown(card.markdown).map(render));
      parent.replaceChildren(article);
    } catch (error) {
      if (ticket === latest) parent.replaceChildren(note(`Model card unavailable: ${failureText(error)}`));
    }
  }
  select.addEventListener('change', () => void draw());
  return async (name, versions, preferred) => {
    const keep = name === model ? select.value : String(preferred ?? versions[versions.length - 1] ?? '');
    model = name;
    fillSelect(
      select,
      versions.map((n) => [String(n), `v${n}`] as const),
      keep,
    );
    await draw();
  };
}
