/**
 * Runs the page's worker actions one at a time. Buttons are marked `aria-disabled` rather
 * than `disabled` while they cannot run, so a keyboard user's focus stays on the button
 * they pressed (a `disabled` button drops focus) and assistive tech still announces it.
 */
export interface Actions {
  /** Wires `button` to `action`; it runs only when the app is ready, nothing else runs, and it is allowed. */
  on(button: HTMLButtonElement, action: () => Promise<void>): void;
  /** Allows or forbids one button regardless of business (e.g. Correct needs a prediction first). */
  allow(button: HTMLButtonElement, allowed: boolean): void;
  /** Called once the model is loaded: actions may run from now on. */
  ready(): void;
}

export interface ActionHooks {
  /** Runs as an action starts (clears the last action's error). */
  before(): void;
  onError(error: unknown): void;
  /** Runs after every action, whether it succeeded or not (the status refresh). */
  after(): Promise<void>;
}

/**
 * @example
 * const actions = createActions({ before: errors.clear, onError: errors.show, after: refreshStatus });
 * actions.on(syncButton, async () => { await client.sync(); });
 */
export function createActions(hooks: ActionHooks): Actions {
  const allowed = new Map<HTMLButtonElement, boolean>();
  let isReady = false;
  let busy = false;

  const canRun = (button: HTMLButtonElement) => isReady && !busy && allowed.get(button) !== false;
  const render = () => {
    for (const button of allowed.keys()) button.setAttribute('aria-disabled', String(!canRun(button)));
  };

  return {
    on(button, action) {
      if (!allowed.has(button)) allowed.set(button, true);
      button.addEventListener('click', async () => {
        if (!canRun(button)) return;
        busy = true;
        render();
        hooks.before();
        try {
          await action();
        } catch (error) {
          hooks.onError(error);
        }
        try {
          await hooks.after();
        } catch (error) {
          hooks.onError(error);
        } finally {
          busy = false;
          render();
        }
      });
      render();
    },
    allow(button, value) {
      allowed.set(button, value);
      render();
    },
    ready() {
      isReady = true;
      render();
    },
  };
}
