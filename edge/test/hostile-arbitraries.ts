import fc from 'fast-check';
import { ErrorCode } from '../../protocol/errors.ts';

// Shared machinery of the hostile-input suites: a hostile request as data, and arbitraries that
// break a valid JSON body in every way the contract refuses (hostile-runner.ts sends them).

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
/** UTF-8 bytes of `text`. */
export const utf8 = (text: string) => new TextEncoder().encode(text);

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
