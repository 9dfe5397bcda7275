import * as v from 'valibot';
import { SyncBroadcast, type SyncTrigger, syncTopic } from '../../protocol/worker-api.ts';
import { type BackgroundSyncSupport, detectBackgroundSync, detectBroadcast } from './env.ts';

/** Whether this page can hand a failed sync to Background Sync, and why not. */
export type BackgroundSyncState = { available: true } | { available: false; reason: string };

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
 * Hands a database's failed syncs to Background Sync: when any context of `dbName` (this page's
 * worker, another tab) reports on the sync topic that a sync failed and will be retried, the
 * topic is registered as a Background Sync tag, so the app's service worker syncs once the
 * browser is online again, even with every tab closed (worker/sync/background.ts answers it).
 * Returns whether that is possible here, and the function that stops listening.
 *
 * @example
 * const { state, stop } = await handFailuresToBackgroundSync('edgeloop');
 * // state: { available: false, reason: 'no service worker is registered for this page' }
 */
export async function handFailuresToBackgroundSync(
  dbName: string,
  deps: {
    detect?: () => Promise<BackgroundSyncSupport>;
    broadcast?: ((name: string) => BroadcastChannel) | null;
  } = {},
): Promise<{ state: BackgroundSyncState; stop: () => void }> {
  const detect = deps.detect ?? detectBackgroundSync;
  const open = deps.broadcast === undefined ? detectBroadcast() : deps.broadcast;
  const first = await detect().catch((error: unknown) => ({
    available: false as const,
    reason: detectionFailed(error),
  }));
  if (!first.available) return { state: first, stop: () => undefined };
  if (!open)
    return { state: { available: false, reason: 'no BroadcastChannel in this runtime' }, stop: () => undefined };
  const topic = syncTopic(dbName);
  const channel = open(topic);
  channel.addEventListener('message', ({ data }) => {
    const report = v.safeParse(SyncBroadcast, data);
    if (!report.success || report.output.phase !== 'failed' || !report.output.retryable) return;
    // Detected again: the service worker may have been replaced since.
    detect()
      .then((support) => (support.available ? support.register(topic) : undefined))
      .catch(() => undefined);
  });
  return { state: { available: true }, stop: () => channel.close() };
}

function detectionFailed(error: unknown): string {
  return `Background Sync detection failed: ${error instanceof Error ? error.message : String(error)}`;
}
