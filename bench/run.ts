// `npm run bench`: one run, figures as ratios; JSON to bench/results/, a table to stdout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureDevVars } from '../scripts/lib/dev-vars.ts';
import { benchBackends } from './browser.ts';
import { benchBundles } from './bundle.ts';
import { benchByom } from './byom.ts';
import { benchProfiles, benchSketchError } from './drift.ts';
import { benchEmbed } from './embed.ts';
import { benchFleets, fleetTable } from './fleet.ts';
import { benchFlood, benchServedLoad, floodTable, servedLine } from './flood.ts';
import { benchInfer } from './infer.ts';
import { benchIngest } from './ingest.ts';
import { activeTable, benchActiveLearning, benchLearning, learningTable } from './learning.ts';
import { startServer } from './server.ts';
import { benchSync } from './sync.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const keys = ensureDevVars(root);
const port = Number(process.env.BENCH_PORT ?? 8789);
const server = await startServer(port);
try {
  const backends = await benchBackends(server.url, ['cpu', 'wasm', 'webgpu']);
  const ingest = await benchIngest(server.url, keys.clientKey);
  const sync = await benchSync(server.url);
  const profiles = await benchProfiles(server.url, keys.clientKey);
  const sketch = benchSketchError();
  const infer = await benchInfer(server.url, keys.clientKey);
  const byom = await benchByom(server.url, keys.adminKey);
  const flood = await benchFlood(server.url, keys.clientKey);
  const served = await benchServedLoad(server.url, keys.adminKey, () => server.log());
  const bundles = benchBundles();
  // The third-party page is served from a second origin, a few ports up.
  const embed = await benchEmbed(server.url, port + 5, keys.clientKey);
  const learning = await benchLearning();
  const active = await benchActiveLearning();
  const fleet = await benchFleets();
  const results = {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}`,
    backends,
    ingest,
    sync,
    profiles,
    sketch,
    infer,
    byom,
    flood,
    served,
    bundles,
    embed,
    learning,
    active,
    fleet,
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
      'train() ms, 50 corrections': b.trainMs.toFixed(0),
      'trained on': `${b.trainBackend}${b.trainApplied ? ', applied' : ', not applied'}`,
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
  const row = (name: string, f: typeof infer.tfjs) => ({
    route: name,
    'req/s': f.perSecond.toFixed(0),
    'p50 ms': f.p50.toFixed(1),
    'p99 ms': f.p99.toFixed(1),
    'p50 / healthz p50': (f.p50 / infer.healthz.p50).toFixed(1),
  });
  console.log(`edge inference, digits, 1 image per request, ${infer.connections} concurrent connections:`);
  console.table([
    row('infer tfjs (API Worker)', infer.tfjs),
    row('infer onnx (ORT Worker)', infer.onnx),
    row('/healthz', infer.healthz),
  ]);
  const floodFigures = floodTable(flood);
  console.log('/healthz and another client under a flood of costly inference from one client (issue 14):');
  console.table(floodFigures.rows);
  console.log(floodFigures.line);
  console.log(servedLine(served));
  const size = (s: { kib: number; gzipKiB: number }) =>
    `${s.kib.toFixed(0)} KiB (gzip ${s.gzipKiB.toFixed(0)} KiB, ${((100 * s.gzipKiB) / bundles.limits.freeGzipKiB).toFixed(0)}% of the free plan's 3 MiB)`;
  console.log(`wrangler deploy --dry-run: API Worker ${size(bundles.api)}; ORT Worker ${size(bundles.ort)}`);
  console.log(
    `script tag ${embed.path}: ${(embed.bytes / 1024).toFixed(1)} KiB, gzip ${(embed.gzipBytes / 1024).toFixed(1)} KiB; ` +
      `tag to first prediction (${embed.backend}, page on another origin): ${embed.coldMs.toFixed(0)} ms cold, ` +
      `${embed.warmMs.toFixed(0)} ms after a reload (HTTP cache, model in IndexedDB)`,
  );
  console.log(
    `on-device learning (train() defaults, tfjs-wasm in Node), standard accuracy ${(100 * learning.standardBase).toFixed(1)}%:`,
  );
  console.table(learningTable(learning));
  console.log('labels chosen by suggest() (smallest margin) against at random, accuracy on the style:');
  console.table(activeTable(active));
  console.log(
    'fleet learning (federated rounds; simulated devices in Node against the edge in workerd), accuracy % of the served model:',
  );
  console.table(fleetTable(fleet));
  console.log(
    'real 224 × 224 MobileNetV2s at the edge (/v2, one request at a time) vs the runtime called in Node, p50 ms:',
  );
  console.table(byom.edge);
  console.table(byom.browser);
  console.log('written to bench/results/latest.json');
} finally {
  server.stop();
}
