import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';
import { ortWasmAssets } from './build/ort-wasm-assets.ts';
import { tfjsWasmAssets } from './build/tfjs-wasm-assets.ts';

// `vite build --config web/vite.config.ts` → dist/web, which the edge serves as static assets.
// The root is web/app, so web/app/index.html becomes /index.html and any further page
// (web/app/<name>/index.html, listed in `input`) lands at /<name>/.

const repo = fileURLToPath(new URL('..', import.meta.url));
const app = fileURLToPath(new URL('./app/', import.meta.url));
/** Where `vite dev` sends `/config.json`: a running edge (`npm start`). */
const edge = process.env.EDGELOOP_EDGE_URL ?? 'http://127.0.0.1:8787';

export default defineConfig({
  root: app,
  base: '/',
  appType: 'mpa',
  publicDir: false,
  plugins: [
    tfjsWasmAssets({ from: `${repo}node_modules/@tensorflow/tfjs-backend-wasm/dist` }),
    ortWasmAssets({ from: `${repo}node_modules/onnxruntime-web/dist` }),
  ],
  resolve: {
    // onnxruntime-web's builds that load their glue and .wasm from `wasmPaths` (our /ort/ copies),
    // instead of the default ones, whose `new URL(…wasm, import.meta.url)` vite would emit again.
    conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
  },
  worker: {
    // A module worker: code-splits (backends load on first use) and matches `{ type: 'module' }` in the SDK.
    format: 'es',
    rolldownOptions: {
      output: {
        // Name the worker and its lazily loaded backends so the size report says what is what.
        entryFileNames: 'assets/worker-[hash].js',
        chunkFileNames: (chunk) => `assets/worker-${packageName(chunk.facadeModuleId) ?? chunk.name}-[hash].js`,
      },
    },
  },
  build: {
    outDir: `${repo}dist/web`,
    emptyOutDir: true,
    target: 'es2022',
    // Minifying is safe for tfjs-backend-wasm only because the worker turns off its threaded
    // build (WASM_HAS_MULTITHREAD_SUPPORT=false), which rebuilds a pthread worker from
    // Function.toString() and hangs once minified; it would also need COOP/COEP headers.
    minify: true,
    // tfjs in the worker is large by nature; the page bundle is what must stay small.
    chunkSizeWarningLimit: 2048,
    rolldownOptions: {
      // sw: the service worker (a worker runtime, so it lives in worker/), at the root so its
      // scope is the whole app.
      input: {
        index: `${app}index.html`,
        dashboard: `${app}dashboard/index.html`,
        sw: `${repo}worker/sync/service-worker.ts`,
      },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
      // The "slow plugin" it reports is vite's worker plugin, whose time is the whole worker build.
      checks: { bundlerTimings: false },
    },
  },
  optimizeDeps: {
    // The worker's dependencies, pre-bundled up front so `vite dev` does not reload mid-start.
    include: [
      'comlink',
      'valibot',
      'dexie',
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-layers',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgpu',
    ],
    // ORT imports its glue at run time from wasmPaths; pre-bundling would break that (worker/infer/onnx.ts `importOrt`).
    exclude: ['onnxruntime-web'],
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    // The SDK starts ../../worker/main.ts, outside the app root.
    fs: { allow: [repo] },
    proxy: { '/config.json': edge },
  },
  preview: { host: '127.0.0.1', port: 5173, strictPort: true },
});

/** `tfjs-backend-wasm` for a module inside node_modules/@tensorflow/tfjs-backend-wasm/. */
function packageName(moduleId: string | null): string | undefined {
  return moduleId?.match(/node_modules\/(?:@[^/]+\/)?([^/]+)\//)?.[1];
}
