import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DIGIT_RECORD_BYTES } from '../protocol/manifest.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Latency figures of one load run, in milliseconds. */
export interface LoadFigures {
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/**
 * Sends `total` requests made by `request(i)` over `connections` concurrent loops (one request
 * in flight per loop) and times each; any answer other than 200 fails the run.
 */
async function load(total: number, connections: number, request: (i: number) => Promise<Response>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        const res = await request(i);
        const body = await res.text();
        if (res.status !== 200) throw new Error(`request ${i}: HTTP ${res.status} ${body.slice(0, 300)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    seconds,
    perSecond: total / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

/** The first `n` holdout digits as OIP infer bodies of one image each (pixels / 255, NHWC). */
function digitBodies(n: number, runtime: 'tfjs' | 'onnx'): string[] {
  const holdout = readFileSync(`${root}models/digits/artifacts/holdout.bin`);
  return Array.from({ length: n }, (_, i) => {
    const record = holdout.subarray(i * DIGIT_RECORD_BYTES + 1, (i + 1) * DIGIT_RECORD_BYTES);
    const data = Array.from(record, (p) => p / 255);
    return JSON.stringify({
      id: String(i),
      parameters: { runtime },
      inputs: [{ name: 'image', shape: [1, 28, 28, 1], datatype: 'FP32', data }],
    });
  });
}

/**
 * `POST /v2/models/digits/infer` on the local edge, one holdout image per request, under
 * `connections` concurrent connections, for tfjs (in the API Worker) and ONNX (the ORT Worker
 * through its service binding); `/healthz` under the same load gives the floor of a request.
 */
export async function benchInfer(url: string, clientKey: string, total = 400, connections = 20) {
  const headers = { Authorization: `Bearer ${clientKey}`, 'Content-Type': 'application/json' };
  const run = async (runtime: 'tfjs' | 'onnx') => {
    const bodies = digitBodies(100, runtime);
    const send = (i: number) =>
      fetch(`${url}/v2/models/digits/infer`, { method: 'POST', headers, body: bodies[i % bodies.length] });
    await load(connections, connections, send); // warm: every isolate loads the model
    return load(total, connections, send);
  };
  const tfjs = await run('tfjs');
  const onnx = await run('onnx');
  const healthz = await load(total, connections, () => fetch(`${url}/healthz`));
  return { connections, tfjs, onnx, healthz };
}
