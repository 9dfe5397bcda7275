import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

/**
 * The binaries tfjs-backend-wasm 4.22 fetches from `setWasmPaths(prefix)`: the plain build,
 * the SIMD build (picked when the browser validates SIMD), and the threaded SIMD build
 * (only with SharedArrayBuffer, which the worker turns off). All three ship, so whichever
 * tfjs asks for exists.
 */
export const TFJS_WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;

/**
 * Serves (dev) and emits (build) `node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm`
 * under `/<folder>/`, where the worker points tfjs: `/tfjs/tfjs-backend-wasm-simd.wasm`.
 * The build fails if a file tfjs requests is missing, rather than the page failing later.
 *
 * @example
 * export default defineConfig({ plugins: [tfjsWasmAssets({ from: 'node_modules/@tensorflow/tfjs-backend-wasm/dist' })] });
 */
export function tfjsWasmAssets({ from, folder = 'tfjs' }: { from: string; folder?: string }): Plugin {
  const files = () => {
    const found = readdirSync(from).filter((name) => name.endsWith('.wasm'));
    const missing = TFJS_WASM_FILES.filter((name) => !found.includes(name));
    if (missing.length) throw new Error(`tfjs-wasm-assets: ${from} lacks ${missing.join(', ')}`);
    return found;
  };
  return {
    name: 'edgeloop:tfjs-wasm-assets',
    configureServer(server) {
      const names = new Set(files());
      server.middlewares.use(`/${folder}`, (request, response, next) => {
        const name = (request.url ?? '').split('?')[0]?.replace(/^\//, '') ?? '';
        if (!names.has(name)) return next();
        response.setHeader('content-type', 'application/wasm');
        response.end(readFileSync(join(from, name)));
      });
    },
    generateBundle() {
      for (const name of files()) {
        this.emitFile({ type: 'asset', fileName: `${folder}/${name}`, source: readFileSync(join(from, name)) });
      }
    },
  };
}
