import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { expect } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/hash.ts';
import worker from '../src/index.ts';

// Shared machinery of the hostile-input suites: a hostile request as data, arbitraries that
// break a valid JSON body in every way the contract refuses, and a property runner that checks
// each refusal (4xx, the error body, a stable code) and that storage did not move.

/** A request the edge must refuse; `expect` narrows the outcome when it is known. */
export interface Hostile {
  label: string;
  method: string;
  path: string;
  key?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Send a Content-Length header (the runner draws it per request). */
  length?: boolean;
  expect?: { status: number; code: ErrorCode };
}

/** Text put verbatim into the JSON a body encodes: numbers JSON.stringify cannot write (1e999). */
export class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** JSON text of `value`, with each {@link Raw} written as its text. */
export function encode(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) =>
    v instanceof Raw ? `\u0000raw${raws.push(v.text) - 1}\u0000` : v,
  );
  return (text ?? '').replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)] ?? '');
}

const JSON_TYPE = { 'Content-Type': 'application/json' };
const utf8 = (text: string) => new TextEncoder().encode(text);

export const refused = (status: number, code: ErrorCode) => ({ status, code });
const INVALID_BODY = refused(400, ErrorCode.INVALID_BODY);

// ---------------------------------------------------------------------------------------------
// Values of the wrong kind

/** Numbers JSON cannot carry, sent as overflowing literals or as strings. */
export const nonFinite = fc.constantFrom<unknown>(
  new Raw('1e999'),
  new Raw('-1e999'),
  new Raw('1E400'),
  'NaN',
  'Infinity',
  '-Infinity',
);

/** Anything but a string. */
export const notString = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, [], {}, ['x'], { s: 'x' }),
  fc.integer(),
  nonFinite.filter((x) => x instanceof Raw),
);

/** Anything but a positive (safe) integer. */
export const notPositiveInt = fc.oneof(
  fc.constantFrom<unknown>(null, true, 0, -1, 0.5, 1.5, '1', '', [], [1], {}, 2 ** 53 + 2, new Raw('-0')),
  fc.integer({ max: 0 }),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
  fc.string(),
  nonFinite,
);

/** Anything but an integer ≥ 0. */
export const notNaturalInt = fc.oneof(
  fc.constantFrom<unknown>(null, true, -1, 0.5, '0', [], {}, 2 ** 53 + 2),
  fc.integer({ max: -1 }),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
  nonFinite,
);

/** Anything but a finite number. */
export const notFinite = fc.oneof(fc.constantFrom<unknown>(null, true, '1', [], {}, [1]), nonFinite);

/** A string longer than `max` (up to `max` + 2000 characters). */
export const tooLong = (max: number) =>
  fc
    .tuple(fc.integer({ min: 1, max: 2000 }), fc.constantFrom('x', 'é', '😀', '\u0000'))
    .map(([extra, c]) => c.repeat(max + extra));

/** Strings no name pattern (`^[A-Za-z0-9_-]+$`-like) accepts. */
export const badName = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'UPPER',
    'a b',
    '../etc',
    'a/b',
    'é',
    '😀',
    'a\u0000b',
    'a%2Fb',
    '.',
    '..',
    '-lead',
    'x'.repeat(300),
  ),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => `${s}!`),
);

/** Path params that are not a positive integer below 10^9. */
export const badVersionParam = fc.oneof(
  fc.constantFrom(
    '0',
    '-1',
    '01',
    '1.5',
    '1e3',
    'abc',
    '0x10',
    '9999999999',
    ' 1',
    '1 ',
    '+1',
    'NaN',
    'Infinity',
    '１',
  ),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^[1-9]\d{0,8}$/.test(s)),
);

// ---------------------------------------------------------------------------------------------
// Broken bodies

/** A string field cut at `at` is still inside an object, so every proper prefix is invalid JSON. */
const truncated = (text: string) => fc.integer({ min: 0, max: text.length - 1 }).map((at) => text.slice(0, at));

const garbage = fc.constantFrom('}', ',', 'x', '{}', ']', '\u0000', '//', 'null', ',"x":1}', '\n{"v":1}');

/** Bytes that are not UTF-8: lone continuation, truncated sequence, overlong, surrogate, 0xFF. */
const BAD_UTF8 = [[0xff], [0x80], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]];

/** `text` with bytes that are not UTF-8 put in anywhere, or inside one of its string values. */
function nonUtf8(text: string, where: 'anywhere' | 'string') {
  const quotes = [...text.matchAll(/":"/g)].map((m) => (m.index ?? 0) + 3);
  return fc.tuple(fc.constantFrom(...BAD_UTF8), fc.nat()).map(([bad, n]) => {
    const at = where === 'string' && quotes.length > 0 ? (quotes[n % quotes.length] ?? 0) : n % (text.length + 1);
    const head = utf8(text.slice(0, at));
    const tail = utf8(text.slice(at));
    return Uint8Array.from([...head, ...bad, ...tail]);
  });
}

/** Bodies that are not one JSON value: empty, truncated, trailing garbage, not UTF-8, too deep. */
export function malformedJson(valid: unknown): fc.Arbitrary<string | Uint8Array> {
  const text = encode(valid);
  return fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      '{',
      '{"v":1',
      "{'v':1}",
      '{v:1}',
      'undefined',
      'NaN',
      '{"v":1,}',
      '[1,]',
      '\u00ef\u00bb\u00bf{}',
    ),
    truncated(text),
    garbage.map((g) => text + g),
    nonUtf8(text, 'anywhere'),
    nonUtf8(text, 'string'),
    fc.integer({ min: 5_000, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth - 1)}`),
  );
}

/** JSON values that are not an object at all (or an object nested the wrong way). */
export const notAnObject = fc.oneof(
  fc.constantFrom<unknown>(null, true, 0, 'x', [], [{}], new Raw('1e999')),
  fc.array(fc.anything(), { maxLength: 5 }),
  fc.integer({ min: 1000, max: 20_000 }).map((depth) => new Raw(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
);

/** Content types the JSON routes must refuse (415), sent with a valid body. */
export const wrongJsonType = fc.constantFrom(
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonp',
  'application/octet-stream',
  '',
);

/** Gzips `bytes` (for bombs: a small body that inflates past the limit). */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** One field of a body and the values it must never take. */
export type FieldBreakers = Record<string, fc.Arbitrary<unknown>>;

interface JsonRoute {
  method: string;
  path: string;
  key: string;
  headers?: Record<string, string>;
  /** A valid body: every mutation below breaks it in one way. */
  valid: Record<string, unknown>;
  /** Fields that must be present. */
  required: string[];
  /** Invalid values per field. */
  breakers: FieldBreakers;
  /** The body limit: a body over it is refused with 413. */
  limit: number;
  /** The outcome of a bad field value (400 INVALID_BODY unless given; null: any refusal). */
  badField?: Hostile['expect'] | null;
  /** Whether unknown fields are refused (strict objects). */
  strict?: boolean;
  /** Whether the route reads the body itself (readJson): gzip, and a fatal UTF-8 decoder. */
  readsJson?: boolean;
}

/**
 * Hostile requests built from one valid JSON request of `route`: malformed JSON, wrong types,
 * missing and unknown fields, bad field values, wrong content types, oversized bodies and
 * (for routes that read the body themselves) bad encodings.
 */
export function brokenJson(route: JsonRoute): fc.Arbitrary<Hostile> {
  const { method, path, key, valid } = route;
  const headers = { ...JSON_TYPE, ...route.headers };
  const request = (label: string, body: string | Uint8Array, exp?: Hostile['expect'], extra = {}): Hostile => ({
    label,
    method,
    path,
    key,
    headers: { ...headers, ...extra },
    body,
    expect: exp,
  });
  const fields = Object.keys(route.breakers);
  const cases: fc.Arbitrary<Hostile>[] = [
    malformedJson(valid).map((body) => request('malformed JSON', body, INVALID_BODY)),
    notAnObject.map((value) => request('not an object', encode(value), INVALID_BODY)),
    fc
      .constantFrom(...fields)
      .chain((field) => (route.breakers[field] as fc.Arbitrary<unknown>).map((value) => ({ field, value })))
      .map(({ field, value }) =>
        request(
          `bad ${field}`,
          encode({ ...valid, [field]: value }),
          route.badField ?? (route.badField === null ? undefined : INVALID_BODY),
        ),
      ),
    wrongJsonType.map((type) =>
      request(`content-type "${type}"`, utf8(encode(valid)), refused(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE), {
        'Content-Type': type,
      }),
    ),
    fc
      .integer({ min: 1, max: 4096 })
      .map((extra) =>
        request(
          'oversized',
          encode({ ...valid, pad: 'x'.repeat(route.limit + extra) }),
          refused(413, ErrorCode.PAYLOAD_TOO_LARGE),
        ),
      ),
  ];
  if (route.required.length > 0) {
    cases.push(
      fc
        .constantFrom(...route.required)
        .map((field) => request(`missing ${field}`, encode({ ...valid, [field]: undefined }), INVALID_BODY)),
    );
  }
  if (route.strict !== false) {
    const known = new Set(Object.keys(valid));
    cases.push(
      fc
        .tuple(
          fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'V', ' v')),
          fc.anything(),
        )
        .filter(([name]) => !known.has(name))
        .map(([name, value]) => {
          // __proto__ as a literal key is an own property in JSON.parse, not a prototype change.
          const body = encode(valid).replace(/}$/, `,${JSON.stringify(name)}:${encode(value ?? null)}}`);
          return request(`unknown field ${JSON.stringify(name)}`, body, INVALID_BODY);
        }),
    );
  }
  if (route.readsJson) {
    cases.push(
      fc.constantFrom('br', 'deflate', 'compress', 'x-gzip', 'gzip, br').map((enc) =>
        request(`content-encoding ${enc}`, encode(valid), refused(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE), {
          'Content-Encoding': enc,
        }),
      ),
      fc
        .uint8Array({ minLength: 0, maxLength: 64 })
        .map((junk) =>
          request('gzip of junk', junk, refused(400, ErrorCode.BAD_REQUEST), { 'Content-Encoding': 'gzip' }),
        ),
    );
  }
  return fc.oneof(...cases);
}

/** A gzip bomb for a readJson route: small on the wire, over `limit` once inflated. */
export async function gzipBomb(route: Omit<Hostile, 'body' | 'label'>, valid: object, limit: number): Promise<Hostile> {
  const body = await gzip(utf8(encode({ ...valid, pad: ' '.repeat(limit + 1) })));
  return {
    ...route,
    label: 'gzip bomb',
    headers: { ...JSON_TYPE, ...route.headers, 'Content-Encoding': 'gzip' },
    body,
    expect: refused(413, ErrorCode.PAYLOAD_TOO_LARGE),
  };
}

// ---------------------------------------------------------------------------------------------
// Sending, checking, and the state of storage

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

/** Checks that `res` is a contract refusal; returns its status and code. */
export async function refusal(h: Hostile, res: Response): Promise<{ status: number; code: string }> {
  const text = await res.text();
  const where = `${show(h)} -> ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, where).toBeGreaterThanOrEqual(400);
  expect(res.status, where).toBeLessThan(500);
  expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  expect(Object.keys(body), where).toEqual(['error']);
  expect(Object.keys(body.error ?? {}).sort(), where).toEqual(['code', 'message']);
  const code = String(body.error?.code);
  expect(CODES.has(code) && code !== ErrorCode.INTERNAL, where).toBe(true);
  expect(typeof body.error?.message === 'string' && body.error.message.length > 0, where).toBe(true);
  expect(String(body.error?.message), where).not.toMatch(/\bat .*\.ts:\d+/);
  if (h.expect) expect({ status: res.status, code }, where).toEqual(h.expect);
  return { status: res.status, code };
}

/** sha256 of every row of `tables` (all tables when omitted) and, when `r2`, of the R2 listing. */
export async function snapshot(tables?: readonly string[], r2 = true): Promise<string> {
  const names =
    tables ??
    (
      await env.DB.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY name",
      ).all<{ name: string }>()
    ).results.map((t) => t.name);
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
  const whole = await snapshot();
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
  expect(await snapshot(), `${name}: the database or R2 changed`).toBe(whole);
  expect(JSON.stringify(await options.extra?.()), `${name}: extra state changed`).toBe(extraBefore);
  console.log(`[hostile] ${name}: ${sent} requests refused`);
  return sent;
}
