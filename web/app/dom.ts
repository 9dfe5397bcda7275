/**
 * Finds an element the page's HTML must contain; a missing one is a bug in index.html,
 * so it fails loudly at start-up rather than as a null later.
 *
 * @example
 * const button = byId('predict', HTMLButtonElement);
 */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`index.html lacks #${id} as a ${type.name}`);
  return element;
}
