import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineProject } from 'vitest/config';
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from 'wrangler';
import { buildOrtWorker } from '../scripts/lib/build-ort.ts';

// Runs edge/test inside workerd with the bindings of wrangler.toml (real D1, R2, DO).
// Works alone (`vitest run --config edge/vitest.config.ts`) and as the root project "edge".
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The ORT Worker (edge/ort) as an auxiliary worker, so that the `ORT` service binding works in
 * tests: its bindings from its wrangler.toml, its code bundled by esbuild into dist/ort (the pool
 * does not bundle auxiliary workers) with ORT's wasm as a CompiledWasm module beside it.
 */
async function ortWorker() {
  const config = unstable_readConfig({ config: here('ort/wrangler.toml') });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const { modulesRules: _rules, ...options } = workerOptions;
  const built = await buildOrtWorker(here('..'), here('../dist/ort'));
  return {
    ...options,
    name: config.name,
    modulesRoot: built.dir,
    modules: [
      { type: 'ESModule' as const, path: built.script },
      { type: 'CompiledWasm' as const, path: built.wasm },
    ],
  };
}

export default defineProject(async () => ({
  root: here('.'),
  // Keep Vite's cache with the repo's node_modules rather than creating edge/node_modules.
  cacheDir: here('../node_modules/.vite'),
  plugins: [
    cloudflareTest({
      wrangler: { configPath: here('../wrangler.toml') },
      miniflare: {
        bindings: {
          EDGELOOP_ADMIN_KEY: 'test-admin-key',
          EDGELOOP_CLIENT_KEY: 'test-client-key',
          EDGELOOP_TOKEN_SECRET: 'test-token-secret',
          EDGELOOP_CORS_ORIGINS: 'https://app.example',
          // Tests that check delivery spy on fetch (the DO shares their isolate); elsewhere the
          // outbound service below answers it, so no test reaches the network.
          EDGELOOP_DRIFT_WEBHOOK: 'https://hooks.edgeloop.test/drift',
          // Read here in Node, applied inside workerd by test/apply-migrations.ts.
          TEST_MIGRATIONS: await readD1Migrations(here('./migrations')),
          HOSTILE_SEED: process.env.HOSTILE_SEED ?? '',
        },
        outboundService: () => new Response(null, { status: 204 }),
        workers: [await ortWorker()],
      },
    }),
  ],
  test: {
    name: 'edge',
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/apply-migrations.ts'],
  },
}));
