/**
 * A worker factory for a page on another origin than the edge. `new Worker(url)` needs `url` on
 * the page's origin, so the worker starts from a `blob:` module (the page's origin) whose only
 * line imports the edge's worker script; module workers fetch cross-origin imports with CORS.
 * The worker's own imports (its lazily loaded backends) resolve against the edge's URL, and so
 * do its asset paths (tfjs's and ORT's files): worker/env.ts reports the module's URL, not the blob's.
 *
 * @example
 * createClientWith(blobWorker('https://edge.example/assets/worker-abc.js'), options);
 */
export function blobWorker(workerUrl: string): () => Worker {
  return () => {
    const source = new Blob([`import ${JSON.stringify(workerUrl)};`], { type: 'text/javascript' });
    const url = URL.createObjectURL(source);
    try {
      return new Worker(url, { type: 'module', name: 'edgeloop' });
    } finally {
      // The constructor has taken the blob already; revoking keeps it from living as long as the page.
      URL.revokeObjectURL(url);
    }
  };
}
