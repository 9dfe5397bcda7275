// The script tag's entry, built as an IIFE (scripts/build-embed.ts): defines the global
// `Edgeloop` and, when the tag has `data-key`, starts it from the tag's `data-*` attributes.
import { createClientWith } from '../sdk/client.ts';
import { blobWorker } from './blob-worker.ts';
import { type EmbedOptions, optionsFromAttributes } from './options.ts';
import { createEdgeloop, type EdgeloopApi } from './runtime.ts';

/** The worker entry's path on the edge (`/assets/worker-<hash>.js`) and the package version, set by the build. */
declare const __EDGELOOP_WORKER_PATH__: string;
declare const __EDGELOOP_VERSION__: string;

declare global {
  interface Window {
    Edgeloop?: EdgeloopApi;
  }
}

const script = document.currentScript;
// A tag included twice keeps the first runtime (and its worker).
if (!window.Edgeloop) {
  // Without a src (inlined in the page) the page's own origin is taken to be the edge.
  const scriptUrl = script instanceof HTMLScriptElement && script.src ? script.src : location.href;
  const startWorker = blobWorker(new URL(__EDGELOOP_WORKER_PATH__, scriptUrl).href);
  const edgeloop = createEdgeloop({
    version: __EDGELOOP_VERSION__,
    scriptUrl,
    createClient: (options) => createClientWith(startWorker, options),
  });
  window.Edgeloop = edgeloop;
  const fromTag = script instanceof HTMLScriptElement ? optionsFromAttributes({ ...script.dataset }) : null;
  // A failure is emitted as `error` (and logged when nothing listens); calls waiting reject with it.
  // init checks the attributes as it checks any host-page input.
  if (fromTag) edgeloop.init(fromTag as unknown as EmbedOptions).catch(() => undefined);
}
