import { answerBackgroundSync, type SyncEventLike } from './background.ts';

// The demo app's service worker (built to /sw.js by web/vite.config.ts). It only answers Background Sync — no fetch handler, no cache —
// so what a tab recorded and could not send reaches the edge once the browser is online again,
// even with every tab closed.

interface ServiceWorkerScope {
  addEventListener(type: 'install', listener: () => void): void;
  addEventListener(type: 'sync', listener: (event: SyncEventLike) => void): void;
  skipWaiting(): Promise<void>;
}

const scope = self as unknown as ServiceWorkerScope;
// Active at once on the first visit, so a sync that fails in that visit can be handed over.
scope.addEventListener('install', () => {
  scope.skipWaiting().catch(() => undefined);
});
answerBackgroundSync(scope);
