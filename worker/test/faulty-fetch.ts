import fc from 'fast-check';
import type { FetchLike } from '../edge-client.ts';

/**
 * What happens to one request, in the order the client makes them (after the schedule, `ok`):
 * - `drop-request`: TypeError before anything is sent;
 * - `drop-response`: sent and answered by the edge, then TypeError (the write committed);
 * - `status`: answered 500/503/429 here (with Retry-After), never forwarded;
 * - `timeout`: sent, then an AbortError/TimeoutError; `inFlight` throws while the edge is still
 *   working on it (the client's retry races it), else after the edge answered;
 * - `duplicate`: delivered twice (one after the other or at once), either reply returned;
 * - `reorder`: held (the caller sees TypeError) and delivered after the next request;
 * - `crash-client`: the tab dies: its IndexedDB connections close and this fetch never settles
 *   (a dead tab runs no more code). `delivered`: after the edge answered, before the client
 *   could act on the reply; else before the request left (e.g. between two batches of one
 *   sync, the previous one acknowledged and marked);
 * - `restart-server`: workerd restarts after the edge answered (`midRequest`: while it works on
 *   the request, which may or may not commit); the client gets TypeError either way.
 */
export type Fault =
  | { kind: 'ok' }
  | { kind: 'drop-request' }
  | { kind: 'drop-response' }
  | { kind: 'status'; status: 500 | 503 | 429; retryAfter: string | null }
  | { kind: 'timeout'; inFlight: boolean }
  | { kind: 'duplicate'; concurrent: boolean; answer: 0 | 1 }
  | { kind: 'reorder' }
  | { kind: 'crash-client'; delivered: boolean }
  | { kind: 'restart-server'; midRequest: boolean };

/** Any one fault; `restart-server` is rare (a workerd restart costs ~0.6 s). */
export function faultArb(): fc.Arbitrary<Fault> {
  return fc.oneof(
    { arbitrary: fc.constant<Fault>({ kind: 'ok' }), weight: 30 },
    { arbitrary: fc.constant<Fault>({ kind: 'drop-request' }), weight: 10 },
    { arbitrary: fc.constant<Fault>({ kind: 'drop-response' }), weight: 15 },
    {
      arbitrary: fc.record({
        kind: fc.constant('status' as const),
        status: fc.constantFrom(500 as const, 503 as const, 429 as const),
        retryAfter: fc.option(fc.constantFrom('0', '1', '120'), { nil: null }),
      }),
      weight: 10,
    },
    { arbitrary: fc.record({ kind: fc.constant('timeout' as const), inFlight: fc.boolean() }), weight: 10 },
    {
      arbitrary: fc.record({
        kind: fc.constant('duplicate' as const),
        concurrent: fc.boolean(),
        answer: fc.constantFrom(0 as const, 1 as const),
      }),
      weight: 15,
    },
    { arbitrary: fc.constant<Fault>({ kind: 'reorder' }), weight: 10 },
    { arbitrary: fc.record({ kind: fc.constant('crash-client' as const), delivered: fc.boolean() }), weight: 6 },
    { arbitrary: fc.record({ kind: fc.constant('restart-server' as const), midRequest: fc.boolean() }), weight: 1 },
  );
}

export interface FaultyFetchDeps {
  /** The edge's current base URL (it changes when workerd restarts). */
  base(): string;
  restartServer(): Promise<void>;
  /** The current tab died: close its storage connections and abandon it. */
  crashClient(): void;
}

/**
 * A fetch that applies `faults` to successive requests, forwarding to `deps.base()` whatever
 * origin the client used. `log` lists each request (method, path, ` gzip` when the body is
 * gzipped) with its fault; `drain()` delivers held
 * requests and waits for those still in flight, so the edge is quiet before it is checked.
 */
export function faultyFetch(faults: readonly Fault[], deps: FaultyFetchDeps) {
  let next = 0;
  const held: (() => Promise<unknown>)[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const log: string[] = [];

  const forward = (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    return fetch(`${deps.base()}${url.pathname}${url.search}`, init);
  };
  // Work the client no longer waits for: its failure (e.g. a restarted server) is nobody's business.
  const track = (work: Promise<unknown>): void => {
    const quiet = work.catch(() => undefined);
    inFlight.add(quiet);
    void quiet.then(() => inFlight.delete(quiet));
  };
  const release = async (): Promise<void> => {
    for (const deliver of held.splice(0)) await deliver().catch(() => undefined);
  };

  const run = async (input: string, init: RequestInit | undefined, fault: Fault): Promise<Response> => {
    switch (fault.kind) {
      case 'ok':
        return forward(input, init);
      case 'drop-request':
        throw new TypeError('fetch failed: connection refused');
      case 'drop-response': {
        const reply = await forward(input, init);
        await reply.arrayBuffer();
        throw new TypeError('fetch failed: connection reset');
      }
      case 'status': {
        const headers: Record<string, string> = fault.retryAfter === null ? {} : { 'retry-after': fault.retryAfter };
        const code = fault.status === 429 ? 'RATE_LIMITED' : 'INTERNAL';
        return Response.json({ error: { code, message: 'injected' } }, { status: fault.status, headers });
      }
      case 'timeout': {
        const sent = forward(input, init).then((r) => r.arrayBuffer());
        if (fault.inFlight) track(sent);
        else await sent;
        throw new DOMException('The operation timed out.', fault.inFlight ? 'TimeoutError' : 'AbortError');
      }
      case 'duplicate': {
        const replies = fault.concurrent
          ? await Promise.all([forward(input, init), forward(input, init)])
          : [await forward(input, init), await forward(input, init)];
        const chosen = replies[fault.answer];
        const other = replies[1 - fault.answer];
        await other?.arrayBuffer();
        if (!chosen) throw new Error('unreachable');
        return chosen;
      }
      case 'reorder':
        held.push(() => forward(input, init).then((r) => r.arrayBuffer()));
        throw new TypeError('fetch failed: no reply');
      case 'crash-client':
        if (fault.delivered) await forward(input, init).then((r) => r.arrayBuffer());
        deps.crashClient();
        return new Promise<never>(() => undefined);
      case 'restart-server': {
        const sent = forward(input, init).then((r) => r.arrayBuffer());
        if (fault.midRequest) await Promise.all([sent.catch(() => undefined), deps.restartServer()]);
        else {
          await sent.catch(() => undefined);
          await deps.restartServer();
        }
        throw new TypeError('fetch failed: connection reset');
      }
    }
  };

  const faulty: FetchLike = async (input, init) => {
    const fault = faults[next++] ?? { kind: 'ok' };
    const wasHeld = held.length > 0;
    // The encoding is logged so a run can tell that large batches really went gzipped.
    const gzip = new Headers(init?.headers).get('content-encoding') === 'gzip' ? ' gzip' : '';
    log.push(`${init?.method ?? 'GET'} ${new URL(input).pathname}${gzip} ${JSON.stringify(fault)}`);
    try {
      return await run(input, init, fault);
    } finally {
      // Requests held by an earlier `reorder` arrive after this one.
      if (wasHeld) await release();
    }
  };

  return {
    fetch: faulty,
    log,
    /** Faults not consumed yet. */
    remaining: () => Math.max(0, faults.length - next),
    async drain(): Promise<void> {
      await release();
      await Promise.all(inFlight);
    },
  };
}
