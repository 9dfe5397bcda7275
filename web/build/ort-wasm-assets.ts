import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

/**
 * What onnxruntime-web 1.30 loads from `ort.env.wasm.wasmPaths` when the worker runs an ONNX
 * export (ORT_FILES in protocol/ort.ts): the JSPI build's glue and binary for WebGPU and the
 * plain build's for wasm. Not the JSEP or asyncify builds: their .wasm (28 and 27 MB) are over
 * Cloudflare's 25 MiB limit per static asset, so `wrangler` would refuse the whole directory.
 */
export const ORT_WASM_FILES = [
  'ort-wasm-simd-threaded.jspi.mjs',
  'ort-wasm-simd-threaded.jspi.wasm',
  'ort-wasm-simd-threaded.mjs',
  'ort-wasm-simd-threaded.wasm',
] as const;

/** Cloudflare Workers' largest static asset (wrangler refuses a directory holding a larger one). */
const MAX_ASSET_BYTES = 25 * 1024 * 1024;

/**
 * Serves (dev) and emits (build) ORT's files from `node_modules/onnxruntime-web/dist` under
 * `/<folder>/` on our own origin, where the worker points ORT: `/ort/ort-wasm-simd-threaded.wasm`.
 * The build fails if a file is missing or too large to deploy, rather than the page failing later.
 *
 * @example
 * export default defineConfig({ plugins: [ortWasmAssets({ from: 'node_modules/onnxruntime-web/dist' })] });
 */
export function ortWasmAssets({ from, folder = 'ort' }: { from: string; folder?: string }): Plugin {
  const check = (): void => {
    for (const name of ORT_WASM_FILES) {
      const size = statSync(join(from, name), { throwIfNoEntry: false })?.size;
      if (size === undefined) throw new Error(`ort-wasm-assets: ${from} lacks ${name}`);
      if (size > MAX_ASSET_BYTES) throw new Error(`ort-wasm-assets: ${name} (${size} bytes) is over 25 MiB`);
    }
  };
  return {
    name: 'edgeloop:ort-wasm-assets',
    configureServer(server) {
      check();
      const names = new Set<string>(ORT_WASM_FILES);
      server.middlewares.use(`/${folder}`, (request, response, next) => {
        const name = (request.url ?? '').split('?')[0]?.replace(/^\//, '') ?? '';
        if (!names.has(name)) return next();
        response.setHeader('content-type', name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        response.end(readFileSync(join(from, name)));
      });
    },
    generateBundle() {
      check();
      for (const name of ORT_WASM_FILES) {
        this.emitFile({ type: 'asset', fileName: `${folder}/${name}`, source: readFileSync(join(from, name)) });
      }
    },
  };
}
