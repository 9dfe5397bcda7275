import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { expect } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/hash.ts';
import { OIP_ERROR_CODE_HEADER } from '../../protocol/oip.ts';
import worker from '../src/index.ts';
import { type Hostile, utf8 } from './hostile-arbitraries.ts';

// The hostile suites' runner: sends each hostile request to the Worker, checks the refusal
// (4xx, the error body, a stable code) and that storage did not move.

const CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Sends `h` to the Worker's fetch handler with the real bindings, as `SELF.fetch` would, but
 * without the harness's dispatch: under vitest-pool-workers every `SELF.fetch` gets slower as
 * the requests of a file add up (workers-sdk#15446), and these suites send thousands. When
 * `h.length` is set the request carries a Content-Length, as HTTP clients send; without it
 * the body arrives as a stream of unknown length, as a chunked upload does.
 */
export async function send(h: Hostile): Promise<Response> {
  const headers = new Headers(h.headers);
  if (h.key !== undefined) headers.set('Authorization', `Bearer ${h.key}`);
  if (h.body !== undefined && h.length) {
    headers.set('Content-Length', String(typeof h.body === 'string' ? utf8(h.body).byteLength : h.body.byteLength));
  }
  const request = new Request(`https://edge.test${h.path}`, { method: h.method, headers, body: h.body });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const show = (h: Hostile) =>
  `${h.label}: ${h.method} ${h.path} ${JSON.stringify(h.headers ?? {})}${h.length ? ' (with length)' : ''} ${
    typeof h.body === 'string' ? h.body.slice(0, 300) : h.body ? `bytes(${h.body.byteLength})` : ''
  }`;

/** Checks that `res` is a contract refusal (under /v2 the protocol's); returns its status and code. */
export async function refusal(h: Hostile, res: Response): Promise<{ status: number; code: string }> {
  const text = await res.text();
  const where = `${show(h)} -> ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, where).toBeGreaterThanOrEqual(400);
  expect(res.status, where).toBeLessThan(500);
  expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
  let code: string;
  let message: unknown;
  if (h.path === '/v2' || h.path.startsWith('/v2/')) {
    // The Open Inference Protocol's error body, the stable code in a header.
    const body = JSON.parse(text) as { error?: unknown };
    expect(Object.keys(body), where).toEqual(['error']);
    code = String(res.headers.get(OIP_ERROR_CODE_HEADER));
    message = body.error;
  } else {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    expect(Object.keys(body), where).toEqual(['error']);
    expect(Object.keys(body.error ?? {}).sort(), where).toEqual(['code', 'message']);
    code = String(body.error?.code);
    message = body.error?.message;
  }
  expect(CODES.has(code) && code !== ErrorCode.INTERNAL, where).toBe(true);
  expect(typeof message === 'string' && message.length > 0, where).toBe(true);
  expect(String(message), where).not.toMatch(/\bat .*\.ts:\d+/);
  if (h.expect) expect({ status: res.status, code }, where).toEqual(h.expect);
  return { status: res.status, code };
}

/**
 * sha256 of every row of `tables` (all tables but `ignore` when omitted) and, when `r2`, of the
 * R2 listing.
 */
export async function snapshot(tables?: readonly string[], r2 = true, ignore: readonly string[] = []): Promise<string> {
  const names =
    tables ??
    (
      await env.DB.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY name",
      ).all<{ name: string }>()
    ).results
      .map((t) => t.name)
      .filter((name) => !ignore.includes(name));
  const dump: Record<string, unknown> = {};
  const rows = await env.DB.batch(names.map((name) => env.DB.prepare(`SELECT * FROM "${name}"`)));
  names.forEach((name, i) => {
    // Some tables have no rowid: sort the rows' JSON for an order that does not depend on it.
    dump[name] = (rows[i]?.results ?? []).map((row) => JSON.stringify(row)).sort();
  });
  if (r2) {
    const listed = await env.ARTIFACTS.list();
    dump.r2 = listed.objects.map((o) => [o.key, o.etag, o.size]);
  }
  return sha256Hex(utf8(JSON.stringify(dump)));
}

// Fixed per-endpoint seeds keep CI deterministic; HOSTILE_SEED=<number> varies them all.
const BASE_SEED = Number.parseInt(env.HOSTILE_SEED, 10) || 20_261_129;

/** The seed of the property named `name`. */
export function seedOf(name: string): number {
  let h = BASE_SEED;
  for (const ch of name) h = (Math.imul(h, 31) + (ch.codePointAt(0) ?? 0)) | 0;
  return h;
}

export interface RefuseOptions {
  /** Requests to send: drawn in concurrent batches of `batch` (default 10). */
  requests: number;
  batch?: number;
  /** Tables whose rows must not change across each batch. */
  tables: readonly string[];
  /** Also compare the R2 listing after each batch. */
  r2?: boolean;
  /** Tables left out of the whole-database comparison (e.g. counters the route may bump). */
  ignoreTables?: readonly string[];
  /** Extra state to compare before and after the run (e.g. a Durable Object's data). */
  extra?: () => Promise<unknown>;
}

/**
 * Sends `requests` requests drawn from `arb` (seeded, the seed logged), concurrently in batches
 * so the run stays short, checks each refusal and the state of `tables` around each batch,
 * sends every fourth request again for the same status and code, and checks the whole database
 * and R2 did not change across the run. Returns the number of requests sent.
 */
export async function refuseAll(name: string, arb: fc.Arbitrary<Hostile>, options: RefuseOptions): Promise<number> {
  const seed = seedOf(name);
  const size = Math.min(options.batch ?? 10, options.requests);
  const numRuns = Math.ceil(options.requests / size);
  console.log(`[hostile] ${name}: seed ${seed}, ${numRuns} batches of ${size}`);
  const whole = await snapshot(undefined, true, options.ignoreTables);
  const extraBefore = JSON.stringify(await options.extra?.());
  let sent = 0;
  // Counterexamples print as short descriptions: a multi-MiB body would stall the report.
  const printable = fc
    .tuple(arb, fc.boolean())
    .map(([h, length]) => Object.assign({ ...h, length }, { [fc.toStringMethod]: () => show({ ...h, length }) }));
  const batch = fc.array(fc.tuple(printable, fc.nat(3)), { minLength: size, maxLength: size });
  await fc.assert(
    fc.asyncProperty(batch, async (cases) => {
      const before = await snapshot(options.tables, options.r2 ?? false);
      const first = await Promise.all(cases.map(async ([h]) => refusal(h, await send(h))));
      sent += cases.length;
      // The same request answers the same: the code is a function of the request.
      const again = cases.filter(([, n]) => n === 0);
      const second = await Promise.all(again.map(async ([h]) => refusal(h, await send(h))));
      sent += again.length;
      second.forEach((answer, i) => {
        const [h] = again[i] as [Hostile, number];
        expect(answer, show(h)).toEqual(first[cases.indexOf(again[i] as (typeof cases)[number])]);
      });
      const after = await snapshot(options.tables, options.r2 ?? false);
      expect(after, `state changed by one of: ${cases.map(([h]) => show(h)).join('\n')}`).toBe(before);
    }),
    { seed, numRuns, endOnFailure: true },
  );
  expect(await snapshot(undefined, true, options.ignoreTables), `${name}: the database or R2 changed`).toBe(whole);
  expect(JSON.stringify(await options.extra?.()), `${name}: extra state changed`).toBe(extraBefore);
  console.log(`[hostile] ${name}: ${sent} requests refused`);
  return sent;
}
