// The page runtime's one environment-detection file (the worker's is worker/env.ts): what the
// page side of the SDK and the demo app need from the browser — the service worker, Background
// Sync, BroadcastChannel.

/**
 * Opens a BroadcastChannel to the other tabs of this origin, or null where there is none.
 *
 * @example
 * const open = detectBroadcast(); // (name) => BroadcastChannel, or null
 */
export function detectBroadcast(): ((name: string) => BroadcastChannel) | null {
  return typeof BroadcastChannel === 'function' ? (name) => new BroadcastChannel(name) : null;
}

/** Whether this page can use Background Sync, and why not. */
export type BackgroundSyncSupport =
  | { available: true; register(tag: string): Promise<void> }
  | { available: false; reason: string };

interface ServiceWorkerContainerLike {
  getRegistration(): Promise<{ sync?: { register(tag: string): Promise<void> } } | undefined>;
}

/**
 * Page side: Background Sync needs a service worker registered for the page whose registration
 * has `sync` (Chromium). Registering a tag also needs that worker active: it fails until then.
 *
 * @example
 * const bg = await detectBackgroundSync();
 * if (bg.available) await bg.register('edgeloop-sync:edgeloop');
 */
export async function detectBackgroundSync(): Promise<BackgroundSyncSupport> {
  const sw = (globalThis as { navigator?: { serviceWorker?: ServiceWorkerContainerLike } }).navigator?.serviceWorker;
  if (typeof sw?.getRegistration !== 'function')
    return { available: false, reason: 'no ServiceWorker API in this runtime' };
  const registration = await sw.getRegistration();
  if (!registration) return { available: false, reason: 'no service worker is registered for this page' };
  const sync = registration.sync;
  if (!sync) return { available: false, reason: 'the service worker registration has no Background Sync (sync)' };
  return { available: true, register: (tag) => sync.register(tag) };
}

/**
 * Page side: registers the app's service worker at `url` (a module worker), or says why it
 * cannot. A page without one still syncs while open; Background Sync needs it.
 *
 * @example
 * const registered = await registerServiceWorker('/sw.js'); // { ok: true } or { ok: false, reason }
 */
export async function registerServiceWorker(url: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const sw = (
    globalThis as {
      navigator?: { serviceWorker?: { register(url: string, options: { type: 'module' }): Promise<unknown> } };
    }
  ).navigator?.serviceWorker;
  if (typeof sw?.register !== 'function') return { ok: false, reason: 'no ServiceWorker API in this runtime' };
  try {
    await sw.register(url, { type: 'module' });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
