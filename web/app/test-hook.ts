import type { EdgeloopClient } from '../sdk/index.ts';

/**
 * What the page exposes as `window.edgeloop` for end-to-end tests and the console: the SDK
 * client, and a way to put an exact 28×28 digit on the pad (see DrawPad.inject).
 */
export interface AppHook {
  client: EdgeloopClient;
  injectDigit(pixels: number[]): void;
}

declare global {
  interface Window {
    edgeloop?: AppHook;
  }
}

export function installTestHook(hook: AppHook): void {
  window.edgeloop = hook;
}
