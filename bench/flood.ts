// `node bench/flood.ts` (also part of `npm run bench`): /healthz and a second client's inference
// on the local edge, idle and under a flood of costly /v2 infer requests from one client and
// address (issue 14: limit work by its cost). FLOOD_SECONDS sets the length of each of the three phases (default 15).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ClientIdentity } from '../protocol/clients.ts';
import { DIGIT_RECORD_BYTES } from '../protocol/manifest.ts';
import { ensureDevVars } from '../scripts/lib/dev-vars.ts';
import type { FloodCounts, FloodOrder } from './flood-worker.ts';
import { clientHeaders, registerClient } from './identity.ts';
import { startServer } from './server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

// wrangler dev sets CF-Connecting-IP only when the request has none, so these pass through: the
// flooder and the other client are told apart by address as well as by client token.
const FLOODER_IP = '198.51.100.1';
const OTHER_IP = '198.51.100.2';

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first `n` holdout digits, pixels / 255, as one [n, 28, 28, 1] input. */
function digits(n: number): { name: string; shape: number[]; datatype: string; data: number[] } {
  const holdout = readFileSync(`${root}models/digits/artifacts/holdout.bin`);
  const data = Array.from({ length: n }, (_, i) =>
    Array.from(holdout.subarray(i * DIGIT_RECORD_BYTES + 1, (i + 1) * DIGIT_RECORD_BYTES), (p) => p / 255),
  ).flat();
  return { name: 'image', shape: [n, 28, 28, 1], datatype: 'FP32', data };
}

/** p99 and count of one probe's latencies, in ms. */
interface Probe {
  requests: number;
  p50: number;
  p99: number;
  /** Answers other than 200. */
  failed: number;
}

/** One request at a time, `gapMs` apart, until `stop()`; latencies of the answers. */
async function probe(send: () => Promise<Response>, gapMs: number, stop: () => boolean): Promise<Probe> {
  const latencies: number[] = [];
  let failed = 0;
  while (!stop()) {
    const t0 = performance.now();
    const res = await send();
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    if (res.status !== 200) failed++;
    await sleep(gapMs);
  }
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), failed };
}

type Phase = 'idle' | 'keyless' | 'flood';

/**
 * Three phases of `seconds` each: /healthz every 20 ms and another client's one-digit infer every
 * 50 ms (one request at a time each; their p50/p99) with nothing else (`idle`); then beside
 * `connections` concurrent loops of one client (its token and its address) sending, round robin,
 * 16-digit infers, one digit explained at 256 steps (0.74 G work units, within one request's
 * budget) and the red team's 16 digits at 256 steps (11.8 G, over it), ignoring Retry-After as an
 * attacker would (`flood`); and first the same loops and bodies without a key (`keyless`,
 * refused 401 before anything is read): what this machine pays for the traffic alone, with the
 * load generator and wrangler's proxy on the same two cores.
 */
export async function benchFlood(url: string, clientKey: string, seconds = 15, connections = 8) {
  const flooder = await registerClient(url, clientKey);
  const other = await registerClient(url, clientKey);
  const endpoint = `${url}/v2/models/digits/infer`;
  const send = (body: string, identity: ClientIdentity, ip: string) =>
    fetch(endpoint, {
      method: 'POST',
      headers: { ...clientHeaders(clientKey, identity), 'CF-Connecting-IP': ip },
      body,
    });
  const one = JSON.stringify({ inputs: [digits(1)] });
  const explained = (n: number) =>
    JSON.stringify({ parameters: { explain: true, explain_steps: 256 }, inputs: [digits(n)] });
  const floodBodies = [JSON.stringify({ inputs: [digits(16)] }), explained(1), explained(16)];

  /** The flood, from a thread of its own (bench/flood-worker.ts). */
  const flood = (kind: Phase) =>
    new Promise<FloodCounts>((resolve, reject) => {
      const order: FloodOrder = {
        endpoint,
        bodies: floodBodies,
        headers: { ...(kind === 'flood' ? clientHeaders(clientKey, flooder) : {}), 'CF-Connecting-IP': FLOODER_IP },
        seconds,
        connections,
      };
      const worker = new Worker(new URL('./flood-worker.ts', import.meta.url), { workerData: order });
      worker.once('message', resolve);
      worker.once('error', reject);
    });

  const phase = async (kind: Phase) => {
    const until = performance.now() + seconds * 1000;
    const stop = () => performance.now() >= until;
    const none: FloodCounts = { requests: 0, ok: 0, rateLimited: 0, gated: 0, tooCostly: 0, unauthorized: 0, other: 0 };
    const [healthz, infer, counts] = await Promise.all([
      probe(() => fetch(`${url}/healthz`), 20, stop),
      probe(() => send(one, other, OTHER_IP), 50, stop),
      kind === 'idle' ? none : flood(kind),
    ]);
    return { healthz, infer, flood: counts };
  };

  // Warm: the model loaded, the other client's Durable Objects started.
  for (let i = 0; i < 10; i++) await (await send(one, other, OTHER_IP)).arrayBuffer();
  const idle = await phase('idle');
  const keyless = await phase('keyless');
  const flooded = await phase('flood');
  return {
    seconds,
    connections,
    idle: { healthz: idle.healthz, infer: idle.infer },
    keyless: { healthz: keyless.healthz, infer: keyless.infer, flood: keyless.flood },
    flooded: { healthz: flooded.healthz, infer: flooded.infer, flood: flooded.flood },
    ratios: {
      healthzP99: flooded.healthz.p99 / idle.healthz.p99,
      inferP99: flooded.infer.p99 / idle.infer.p99,
      keylessHealthzP99: keyless.healthz.p99 / idle.healthz.p99,
      keylessInferP99: keyless.infer.p99 / idle.infer.p99,
    },
  };
}

/** workerd's warnings of a promise shared across requests (issue 14, defect 7). */
const HUNG = /will never complete|code had hung/g;

/**
 * A load the edge serves in full: `connections` loops of 16-digit infers with an operator's
 * key (publish keys are not charged), each answer's rows fed to drift through the per-isolate
 * batch, for `seconds`; then how many of workerd's hung-promise warnings the server printed
 * meanwhile (`log` gives what it printed since it started).
 *
 * @example
 * const { ok, hungWarnings } = await benchServedLoad(url, adminKey, () => server.log());
 */
export async function benchServedLoad(url: string, adminKey: string, log: () => string, seconds = 15, connections = 8) {
  const before = log().length;
  const counts = await new Promise<FloodCounts>((resolve, reject) => {
    const order: FloodOrder = {
      endpoint: `${url}/v2/models/digits/infer`,
      bodies: [JSON.stringify({ inputs: [digits(16)] })],
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      seconds,
      connections,
    };
    const worker = new Worker(new URL('./flood-worker.ts', import.meta.url), { workerData: order });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Drift batches flush a second after their first row: let the last ones go.
  await sleep(2000);
  return { seconds, connections, ...counts, hungWarnings: log().slice(before).match(HUNG)?.length ?? 0 };
}

/** The figures as one table row per probe and phase, and a line for the flood. */
export function floodTable(result: Awaited<ReturnType<typeof benchFlood>>) {
  const row = (probe: string, phase: string, figures: Probe, idle: Probe) => ({
    probe,
    phase,
    'p50 ms': figures.p50.toFixed(1),
    'p99 ms': figures.p99.toFixed(1),
    'p99 / idle p99': (figures.p99 / idle.p99).toFixed(2),
    requests: figures.requests,
    'not 200': figures.failed,
  });
  const { idle, keyless, flooded } = result;
  const f = flooded.flood;
  return {
    rows: [
      row('/healthz', 'idle', idle.healthz, idle.healthz),
      row('/healthz', 'keyless flood', keyless.healthz, idle.healthz),
      row('/healthz', 'flood', flooded.healthz, idle.healthz),
      row("another client's 1-digit infer", 'idle', idle.infer, idle.infer),
      row("another client's 1-digit infer", 'keyless flood', keyless.infer, idle.infer),
      row("another client's 1-digit infer", 'flood', flooded.infer, idle.infer),
    ],
    line:
      `flood: ${result.connections} connections × ${result.seconds} s from one client and address: ${f.requests} requests, ` +
      `${f.ok} served, ${f.rateLimited} 429 RATE_LIMITED (${f.gated} before the body was read), ` +
      `${f.tooCostly} 422 TOO_COSTLY, ${f.other} other; keyless: ${keyless.flood.requests} requests, ${keyless.flood.unauthorized} 401`,
  };
}

/** The served load's figures in a line. */
export function servedLine(served: Awaited<ReturnType<typeof benchServedLoad>>): string {
  return (
    `served load: ${served.connections} connections × ${served.seconds} s of 16-digit infers with an operator's key: ` +
    `${served.requests} requests, ${served.ok} served, ${served.requests - served.ok} not; ` +
    `workerd's hung-promise warnings meanwhile: ${served.hungWarnings}`
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const keys = ensureDevVars(root);
  const server = await startServer(Number(process.env.BENCH_PORT ?? 8789));
  try {
    const seconds = Number(process.env.FLOOD_SECONDS ?? 15);
    const result = await benchFlood(server.url, keys.clientKey, seconds);
    const { rows, line } = floodTable(result);
    console.table(rows);
    console.log(line);
    const served = await benchServedLoad(server.url, keys.adminKey, () => server.log(), seconds);
    console.log(servedLine(served));
  } finally {
    server.stop();
  }
}
