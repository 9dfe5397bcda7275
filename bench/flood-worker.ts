// The flooder of bench/flood.ts, in a thread of its own: an attacker's event loop is not the
// probes' (run in one thread, their latencies would include waiting behind the flood's
// responses on the client side). Sends `bodies` round robin from `connections` loops for
// `seconds`, ignoring Retry-After, and posts back what the answers were.
import { parentPort, workerData } from 'node:worker_threads';

export interface FloodOrder {
  endpoint: string;
  bodies: string[];
  headers: Record<string, string>;
  seconds: number;
  connections: number;
}

/** What the flood's requests got, by answer. */
export interface FloodCounts {
  requests: number;
  ok: number;
  /** 429 RATE_LIMITED: a work or request bucket of the flooder was spent. */
  rateLimited: number;
  /** Of those, refused before the body was read: sent before the Retry-After of an earlier 429. */
  gated: number;
  /** 422 TOO_COSTLY: over the budget of one request, refused before running. */
  tooCostly: number;
  /** 401: no key (the keyless phase). */
  unauthorized: number;
  other: number;
}

async function flood(order: FloodOrder): Promise<FloodCounts> {
  const until = performance.now() + order.seconds * 1000;
  const counts: FloodCounts = { requests: 0, ok: 0, rateLimited: 0, gated: 0, tooCostly: 0, unauthorized: 0, other: 0 };
  const loop = async (c: number) => {
    for (let i = c; performance.now() < until; i++) {
      const body = order.bodies[i % order.bodies.length] as string;
      const res = await fetch(order.endpoint, { method: 'POST', headers: order.headers, body });
      const text = await res.text();
      counts.requests++;
      if (res.status === 200) counts.ok++;
      else if (res.status === 429) {
        counts.rateLimited++;
        if (text.includes('Retry-After of the last 429')) counts.gated++;
      } else if (res.status === 422) counts.tooCostly++;
      else if (res.status === 401) counts.unauthorized++;
      else counts.other++;
    }
  };
  await Promise.all(Array.from({ length: order.connections }, (_, c) => loop(c)));
  return counts;
}

if (parentPort) parentPort.postMessage(await flood(workerData as FloodOrder));
