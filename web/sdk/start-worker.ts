/**
 * Starts the worker the page's bundler builds from worker/main.ts (vite emits it as
 * assets/worker-*.js). Kept apart from client.ts so a bundle that brings its own worker (the
 * script tag's, from a blob) does not carry this one's URL.
 */
export function startBundledWorker(): Worker {
  return new Worker(new URL('../../worker/main.ts', import.meta.url), { type: 'module', name: 'edgeloop' });
}
