import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';

/** The ORT Worker (edge/ort) built for Miniflare: its entry module and ORT's wasm beside it. */
export interface OrtBuild {
  dir: string;
  script: string;
  wasm: string;
}

const WASM = 'ort-wasm-simd-threaded.wasm';

// The source imports ORT's .wasm from node_modules (wrangler's CompiledWasm
// rule resolves it); here it becomes a module beside the script, given to Miniflare as CompiledWasm.
const wasmBeside: Plugin = {
  name: 'ort-wasm-beside',
  setup(b) {
    b.onResolve({ filter: /\.wasm$/ }, () => ({ path: `./${WASM}`, external: true }));
  },
};

/**
 * Bundles edge/ort/src/index.ts with esbuild (as wrangler would, without minifying) into
 * `outDir`, and copies ORT's wasm there when it is not already. For the edge tests, which start
 * the ORT Worker as an auxiliary worker: the pool does not bundle those.
 *
 * @example
 * const ort = await buildOrtWorker(root, `${root}/dist/ort`);
 * // miniflare.workers: [{ name: 'edgeloop-ort', modules: [{ type: 'ESModule', path: ort.script }, …] }]
 */
export async function buildOrtWorker(root: string, outDir: string): Promise<OrtBuild> {
  mkdirSync(outDir, { recursive: true });
  const script = join(outDir, 'index.js');
  await build({
    entryPoints: [join(root, 'edge/ort/src/index.ts')],
    outfile: script,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    plugins: [wasmBeside],
    logLevel: 'warning',
  });
  const source = createRequire(join(root, 'package.json')).resolve(`onnxruntime-web/${WASM}`);
  const wasm = join(outDir, WASM);
  const copied = statSync(wasm, { throwIfNoEntry: false });
  const original = statSync(source);
  if (copied?.size !== original.size || copied.mtimeMs < original.mtimeMs) copyFileSync(source, wasm);
  return { dir: outDir, script, wasm };
}
