import { EdgeloopError } from '../../protocol/errors.ts';

export interface ErrorView {
  show(error: unknown): void;
  clear(): void;
}

/**
 * The page's alert area: shows an error's stable code and its message until dismissed or
 * until the next action starts. The region is a live `role="alert"`, so screen readers
 * announce it without moving focus.
 *
 * @example
 * const errors = createErrorView(byId('error', HTMLElement));
 * client.sync().catch(errors.show);
 */
export function createErrorView(region: HTMLElement): ErrorView {
  const code = document.createElement('strong');
  const message = document.createElement('span');
  const dismiss = document.createElement('button');
  dismiss.type = 'button';
  dismiss.textContent = 'Dismiss';
  dismiss.className = 'dismiss';
  region.replaceChildren(code, ' ', message, ' ', dismiss);

  const clear = () => {
    region.hidden = true;
    code.textContent = '';
    message.textContent = '';
  };
  dismiss.addEventListener('click', clear);
  clear();

  return {
    show(error) {
      const edgeloop = EdgeloopError.from(error);
      console.error(edgeloop, edgeloop.cause ?? '');
      code.textContent = edgeloop.code;
      message.textContent = edgeloop.message;
      region.hidden = false;
    },
    clear,
  };
}
