// `npm run bench`: one run, figures as ratios; JSON to bench/results/, a table to stdout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureDevVars } from '../scripts/lib/dev-vars.ts';
import { benchBackends } from './browser.ts';
import { benchIngest } from './ingest.ts';
import { startServer } from './server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const keys = ensureDevVars(root);
const server = await startServer(Number(process.env.BENCH_PORT ?? 8789));
try {
  const backends = await benchBackends(server.url, ['cpu', 'wasm', 'webgpu']);
  const ingest = await benchIngest(server.url, keys.clientKey);
  const results = { at: new Date().toISOString(), machine: `${process.platform} ${process.arch}`, backends, ingest };
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
  console.log('written to bench/results/latest.json');
} finally {
  server.stop();
}
