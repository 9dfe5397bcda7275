/**
 * A table with a caption and header row, cells as text (edge data is never parsed as HTML).
 *
 * @example
 * parent.replaceChildren(table('Versions', ['Version', 'Status'], [['1', 'ready']]));
 */
export function table(
  caption: string,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): HTMLTableElement {
  const element = document.createElement('table');
  element.createCaption().textContent = caption;
  const head = element.createTHead().insertRow();
  for (const h of headers) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = element.createTBody();
  for (const cells of rows) {
    const row = body.insertRow();
    for (const text of cells) row.insertCell().textContent = text;
  }
  return element;
}

/**
 * Replaces a select's options, keeping the chosen value when it is still offered.
 *
 * @example
 * fillSelect(select, [['1', 'v1'], ['2', 'v2 (production)']], '2');
 */
export function fillSelect(
  select: HTMLSelectElement,
  options: readonly (readonly [string, string])[],
  preferred?: string,
): void {
  const keep = preferred ?? select.value;
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  if (options.some(([value]) => value === keep)) select.value = keep;
}
