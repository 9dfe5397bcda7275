import type { SyncTrigger } from '../../protocol/worker-api.ts';
import { type BackgroundSyncSupport, detectBackgroundSync } from '../../worker/env.ts';

/** The Background Sync tag the SDK registers; an app's service worker handles `sync` events with it. */
export const BACKGROUND_SYNC_TAG = 'edgeloop-sync';

/** Whether Background Sync was registered for this page, and why not. */
export type BackgroundSyncState = { registered: true } | { registered: false; reason: string };

/** Where the page's lifecycle events come from; tests pass plain EventTargets. */
export interface PageTargets {
  document: EventTarget & { visibilityState?: string };
  window: EventTarget;
}

/**
 * Tells the worker to sync when the page is hidden or unloaded (`visibilitychange` → hidden,
 * `pagehide`): the last moment a tab is sure to run. Returns the function that removes the listeners.
 *
 * @example
 * const stop = watchPageHide({ document, window }, (trigger) => client.requestSync(trigger));
 */
export function watchPageHide(targets: PageTargets, request: (trigger: SyncTrigger) => void): () => void {
  const onVisibility = () => {
    if (targets.document.visibilityState === 'hidden') request('pagehide');
  };
  const onPageHide = () => request('pagehide');
  targets.document.addEventListener('visibilitychange', onVisibility);
  targets.window.addEventListener('pagehide', onPageHide);
  return () => {
    targets.document.removeEventListener('visibilitychange', onVisibility);
    targets.window.removeEventListener('pagehide', onPageHide);
  };
}

/**
 * Registers Background Sync where the page has a service worker with it. Edgeloop ships no
 * service worker: an app that has one must answer `sync` events tagged BACKGROUND_SYNC_TAG
 * (e.g. by messaging a client to call `requestSync('background-sync')`).
 *
 * @example
 * const state = await registerBackgroundSync(); // { registered: false, reason: 'no service worker controls this page' }
 */
export async function registerBackgroundSync(
  detect: () => Promise<BackgroundSyncSupport> = detectBackgroundSync,
): Promise<BackgroundSyncState> {
  try {
    const support = await detect();
    if (!support.available) return { registered: false, reason: support.reason };
    await support.register(BACKGROUND_SYNC_TAG);
    return { registered: true };
  } catch (error) {
    return {
      registered: false,
      reason: `registration failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
