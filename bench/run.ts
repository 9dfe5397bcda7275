// `npm run bench`: one run, figures as ratios; JSON to bench/results/, a table to stdout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureDevVars } from '../scripts/lib/dev-vars.ts';
import { benchBackends } from './browser.ts';
import { benchProfiles, benchSketchError } from './drift.ts';
import { benchIngest } from './ingest.ts';
import { startServer } from './server.ts';
import { benchSync } from './sync.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const keys = ensureDevVars(root);
const server = await startServer(Number(process.env.BENCH_PORT ?? 8789));
try {
  const backends = await benchBackends(server.url, ['cpu', 'wasm', 'webgpu']);
  const ingest = await benchIngest(server.url, keys.clientKey);
  const sync = await benchSync(server.url);
  const profiles = await benchProfiles(server.url, keys.clientKey);
  const sketch = benchSketchError();
  const results = {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}`,
    backends,
    ingest,
    sync,
    profiles,
    sketch,
  };
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(`${root}bench/results/latest.json`, `${JSON.stringify(results, null, 2)}\n`);

  const cpu = backends.find((b) => b.backend === 'cpu');
  console.table(
    backends.map((b) => ({
      backend: b.backend + (b.backend === 'webgpu' && b.fallbackAdapter ? ' (fallback adapter)' : ''),
      'sdk predict ms (incl. IndexedDB record)': b.sdkPredictMs.toFixed(3),
      'direct tfjs predict ms': b.directPredictMs.toFixed(3),
      'sdk/direct': (b.sdkPredictMs / b.directPredictMs).toFixed(2),
      'train ms (incl. 2×2000 eval)': b.trainMs.toFixed(0),
      'train vs cpu': cpu ? (b.trainMs / cpu.trainMs).toFixed(2) : '-',
    })),
  );
  console.log(
    `edge ingest: ${ingest.events} events in ${ingest.seconds.toFixed(2)} s = ${ingest.perSecond.toFixed(0)} events/s`,
  );
  console.log(
    `sync in Chromium: ${sync.items} items IndexedDB → D1 in ${sync.seconds.toFixed(2)} s = ${sync.perSecond.toFixed(0)} items/s; ` +
      `${sync.eventBytesPerItem.toFixed(0)} bytes on the wire per item (${sync.requests} requests, ${sync.gzipped} gzipped)`,
  );
  console.log(
    `drift profiles: ${profiles.bytesPerProfile} bytes per client profile (100 rows, 4 features + outputs); ` +
      `${profiles.edgeMergedPerSecond.toFixed(0)} profiles/s merged by the Durable Object through POST /v1/profiles ` +
      `vs ${profiles.localMergesPerSecond.toFixed(0)} merges/s in-process`,
  );
  console.log(
    `sketch vs exact (2×200,000 log-normal values, 20 merged profiles each): ` +
      `KS ${sketch.ks.sketch.toFixed(4)} vs ${sketch.ks.exact.toFixed(4)}, ` +
      `normalised Wasserstein ${sketch.wasserstein.sketch.toFixed(4)} vs ${sketch.wasserstein.exact.toFixed(4)}`,
  );
  console.log('written to bench/results/latest.json');
} finally {
  server.stop();
}
