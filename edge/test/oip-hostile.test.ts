import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { MAX_TENSOR_ELEMENTS } from '../../protocol/oip.ts';
import { ADMIN_KEY, api, CLIENT_KEY, makeKey, publish } from './helpers.ts';
import {
  badVersionParam,
  brokenJson,
  encode,
  type Hostile,
  nonFinite,
  notString,
  Raw,
  refused,
  utf8,
} from './hostile-arbitraries.ts';
import { badModelParam } from './hostile-registry-fixture.ts';
import { refusal, refuseAll, send, snapshot } from './hostile-runner.ts';
import { publishSpecModel, specFiles, specManifest } from './oip-fixture.ts';

// Hostile requests to POST /v2/models/{model}[/versions/{v}]/infer: each is refused with a 4xx,
// the protocol's {"error": "…"} and a stable Edgeloop-Error-Code, the same answer again, and
// D1 and R2 unchanged. (Inference writes shadow comparisons after an answer served through a
// rollout with a shadow, none here, and its metrics, refusals included once the version is
// known: inference_requests and inference_durations are left out of the comparison.) One
// address for the rate limiter, far under its 3000/min.

const MODEL = 'hostile-oip';
const BARE = 'hostile-oip-bare'; // no production alias
const ARCHIVED = 2; // MODEL v1: production; v2: archived; v3: ready, no alias
const UNASSIGNED = 3;
const IP = { 'CF-Connecting-IP': '198.51.100.20' };
const LIMIT = 8 * 1024 * 1024; // MAX_INFER_BODY_BYTES in edge/src/routes/oip.ts
const LONG = 120_000;
const IGNORED = ['inference_requests', 'inference_durations'];
const TABLES = ['models', 'versions', 'files', 'aliases', 'api_keys', 'shadow_comparisons'];

const input0 = { name: 'input0', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] };
const input1 = { name: 'input1', shape: [2, 1], datatype: 'FP32', data: [1, 0] };
const VALID = { id: '42', inputs: [input0, input1], outputs: [{ name: 'output0' }] };

const BODY = refused(400, ErrorCode.INVALID_BODY);
const INPUT = refused(400, ErrorCode.INVALID_INPUT);

let readKey = '';
let revokedKey = '';

interface Where {
  path?: string;
  /** The API key; null: none. */
  key?: string | null;
  headers?: Record<string, string>;
}

const post = (label: string, body: string | Uint8Array, exp?: Hostile['expect'], where: Where = {}): Hostile => ({
  label,
  method: 'POST',
  path: where.path ?? `/v2/models/${MODEL}/infer`,
  key: where.key === null ? undefined : (where.key ?? CLIENT_KEY),
  headers: { 'Content-Type': 'application/json', ...IP, ...where.headers },
  body,
  expect: exp,
});

/** VALID with input `which` (0 or 1) changed by `change`; `undefined` fields are left out. */
const withInput = (which: number, change: Record<string, unknown>) => ({
  ...VALID,
  inputs: [input0, input1].map((input, i) => (i === which ? { ...input, ...change } : input)),
});

beforeAll(async () => {
  // Store the bootstrap keys (done on first use) before any snapshot.
  expect((await api('/v1/keys', { key: ADMIN_KEY })).status).toBe(200);
  expect((await api('/v1/models', { key: CLIENT_KEY })).status).toBe(403);
  readKey = (await makeKey('read')).key;
  const revoked = await makeKey('client');
  expect((await api(`/v1/keys/${revoked.id}/revoke`, { method: 'POST', key: ADMIN_KEY })).status).toBe(200);
  revokedKey = revoked.key;
  await publishSpecModel(MODEL);
  const files = await specFiles();
  for (let n = 2; n <= 3; n++) expect((await publish(MODEL, files, specManifest(MODEL))).status).toBe(201);
  const archive = await api(`/v1/models/${MODEL}/versions/${ARCHIVED}/archive`, { method: 'POST', key: ADMIN_KEY });
  expect(archive.status).toBe(200);
  expect((await publish(BARE, files, specManifest(BARE))).status).toBe(201);
});

/** Bodies broken as JSON, by type or by field, and sent the wrong way (400, 413, 415). */
const brokenBodies = brokenJson({
  method: 'POST',
  path: `/v2/models/${MODEL}/infer`,
  key: CLIENT_KEY,
  headers: IP,
  valid: VALID,
  required: ['inputs'],
  breakers: {
    id: notString,
    parameters: fc.oneof(
      fc.constantFrom<unknown>(null, 1, 'x', true, [], [1]),
      fc.record({ p: fc.constantFrom<unknown>(null, [], {}, [1], { x: 1 }) }),
      // The ones Edgeloop reads (protocol/oip.ts EdgeloopInferParameters), of the wrong type or range.
      fc.record({ runtime: fc.constantFrom<unknown>('x', 'ONNX', 'tfjs-node', 1, null, true) }),
      fc.record({ explain: fc.constantFrom<unknown>('yes', 'true', 1, null) }),
      fc.record({ explain_steps: fc.constantFrom<unknown>(0, -1, 1.5, 257, 1e9, '8', null) }),
    ),
    inputs: notString,
    outputs: fc.constantFrom<unknown>(null, 'output0', {}, [null], ['output0'], [{}], [{ name: 1 }], [{ name: null }]),
  },
  limit: LIMIT,
  strict: false,
});

/** Inputs that are no $request_input: wrong or missing fields (400 INVALID_BODY). */
const badInputFields = fc.oneof(
  fc.tuple(fc.nat(1), notString).map(([i, name]) => post('input name', encode(withInput(i, { name })), BODY)),
  fc
    .tuple(
      fc.nat(1),
      fc.oneof(
        fc.constantFrom<unknown>(null, 2, '2,2', {}, [], ['2', '2'], [2, null], [1, 1, 1, 1, 1, 1, 1, 1, 1]),
        fc.constantFrom<unknown>([-1, 2], [2, -2], [2.5, 2], [2, 2 ** 53], [2 ** 64, 2], [new Raw('1e999'), 2]),
        fc.array(fc.integer({ min: -(2 ** 31), max: -1 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.double({ noInteger: true, noNaN: true }), { minLength: 1, maxLength: 3 }),
      ),
    )
    .map(([i, shape]) => post('input shape', encode(withInput(i, { shape })), BODY)),
  fc
    .tuple(fc.nat(1), fc.oneof(notString, fc.constantFrom('fp32', 'FLOAT32', 'STRING', 'BF16', '', 'INT32 ')))
    .map(([i, datatype]) => post('input datatype', encode(withInput(i, { datatype })), BODY)),
  fc
    .tuple(fc.nat(1), fc.constantFrom<unknown>(null, 1, '1,2,3,4', {}, { 0: 1 }, true, new Raw('1e999')))
    .map(([i, data]) => post('input data', encode(withInput(i, { data })), BODY)),
  fc
    .tuple(fc.nat(1), fc.constantFrom<unknown>(null, 'x', 0, [], ['a'], { p: {} }, { p: [1] }))
    .map(([i, parameters]) => post('input parameters', encode(withInput(i, { parameters })), BODY)),
  fc
    .tuple(fc.nat(1), fc.constantFrom('name', 'shape', 'datatype', 'data'))
    .map(([i, field]) => post(`input without ${field}`, encode(withInput(i, { [field]: undefined })), BODY)),
  fc
    .constantFrom<unknown>(null, 1, 'input0', [])
    .map((x) => post('input not an object', encode({ inputs: [x] }), BODY)),
);

/** Well-formed inputs the model refuses (400 INVALID_INPUT). */
const badInputs = fc.oneof(
  // Unknown, duplicate and missing inputs; unknown outputs.
  fc
    .oneof(fc.string({ maxLength: 12 }), fc.constantFrom('INPUT0', 'input0 ', 'input2', '__proto__', 'constructor'))
    .filter((name) => name !== 'input0' && name !== 'input1')
    .map((name) => post('unknown input', encode({ inputs: [input0, input1, { ...input0, name }] }), INPUT)),
  fc.nat(1).map((i) => post('input twice', encode({ inputs: [input0, input1, i ? input1 : input0] }), INPUT)),
  fc.nat(1).map((i) => post('input missing', encode({ inputs: [i ? input1 : input0] }), INPUT)),
  fc
    .string({ maxLength: 12 })
    .filter((name) => name !== 'output0' && name !== 'output1')
    .map((name) => post('unknown output', encode({ ...VALID, outputs: [{ name }] }), INPUT)),
  // Another datatype of the protocol.
  fc
    .tuple(
      fc.nat(1),
      fc.constantFrom('BOOL', 'UINT8', 'UINT32', 'UINT64', 'INT8', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'),
    )
    .filter(([i, datatype]) => datatype !== (i ? 'FP32' : 'INT32'))
    .map(([i, datatype]) => post('another datatype', encode(withInput(i, { datatype })), INPUT)),
  // Shapes the model does not take, or that the data does not fill.
  fc
    .tuple(fc.nat(1), fc.constantFrom([2], [2, 3], [2, 2, 1], [4], [1, 4], [2, 1, 1, 1, 1, 1, 1, 1]))
    .map(([i, shape]) => post('another shape', encode(withInput(i, { shape })), INPUT)),
  fc
    .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }))
    .filter(([rows, n]) => n !== rows * 2)
    .map(([rows, n]) =>
      post('data not the shape', encode(withInput(0, { shape: [rows, 2], data: Array(n).fill(1) })), INPUT),
    ),
  fc
    .integer({ min: 0, max: 5 })
    .filter((rows) => rows !== 2)
    .map((rows) =>
      post('batch sizes differ', encode(withInput(1, { shape: [rows, 1], data: Array(rows).fill(0) })), INPUT),
    ),
  // Too many elements, a product past 2^53, and a real tensor over the limit.
  fc
    .tuple(fc.nat(1), fc.integer({ min: MAX_TENSOR_ELEMENTS / 2 + 1, max: Number.MAX_SAFE_INTEGER }))
    .map(([i, rows]) => post('huge shape', encode(withInput(i, { shape: [rows, i ? 1 : 2], data: [] })), INPUT)),
  fc.constant(null).map(() => {
    const data = new Array(MAX_TENSOR_ELEMENTS + 2).fill(0);
    return post('over 2^20 elements', encode(withInput(0, { shape: [MAX_TENSOR_ELEMENTS / 2 + 1, 2], data })), INPUT);
  }),
  // Elements that are not of the datatype.
  fc
    .tuple(
      fc.nat(1),
      fc.nat(3),
      fc.oneof(nonFinite, fc.constantFrom<unknown>(null, true, '1', '', {}, 'NaN', '0x1'), fc.string({ maxLength: 6 })),
    )
    .map(([i, at, x]) => {
      const data = [...(i ? input1.data : input0.data)];
      data[at % data.length] = x as number;
      return post('element not a number', encode(withInput(i, { data })), INPUT);
    }),
  fc
    .tuple(
      fc.nat(3),
      fc.oneof(
        fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53),
      ),
    )
    .map(([at, x]) => {
      const data = [...input0.data];
      data[at] = x;
      return post('INT32 element not an int32', encode(withInput(0, { data })), INPUT);
    }),
  // Nested data that does not match the shape: ragged, mixed, too deep.
  fc
    .constantFrom<unknown[]>(
      [[1, 2], [3]],
      [[1, 2, 3], [4]],
      [[1, 2], 3, 4],
      [1, 2, [3, 4]],
      [[1, 2], [3, 4], []],
      [[[1, 2]], [[3, 4]]],
      [
        [1, [2]],
        [3, 4],
      ],
      [[], [], [], []],
    )
    .map((data) => post('ragged data', encode(withInput(0, { data })), INPUT)),
  fc
    .integer({ min: 3, max: 20_000 })
    .map((depth) =>
      post('deep data', encode(withInput(0, { data: new Raw(`${'['.repeat(depth)}1${']'.repeat(depth)}`) })), INPUT),
    ),
);

/** Valid bodies sent where or by whom the route must refuse them. */
const at = (path: string, key?: string): Where => ({ path, ...(key ? { key } : {}) });
const versioned = (v: string | number) => `/v2/models/${MODEL}/versions/${v}/infer`;
const badTargets = fc.oneof(
  badModelParam.map((m) =>
    post('bad model', encode(VALID), undefined, at(`/v2/models/${encodeURIComponent(m)}/infer`)),
  ),
  fc.constant(
    post('unknown model', encode(VALID), refused(404, ErrorCode.MODEL_NOT_FOUND), at('/v2/models/nope/infer')),
  ),
  fc.constant(
    post('no production alias', encode(VALID), refused(404, ErrorCode.ALIAS_NOT_FOUND), at(`/v2/models/${BARE}/infer`)),
  ),
  badVersionParam.map((v) => post('bad version', encode(VALID), undefined, at(versioned(encodeURIComponent(v))))),
  fc
    .constantFrom('0', '-1', '01', '1.5', 'v1', '1e3', '9999999999')
    .map((v) => post('bad version', encode(VALID), refused(400, ErrorCode.BAD_REQUEST), at(versioned(v)))),
  // A read key sees every version; a client key only those an alias serves.
  fc
    .constant(null)
    .map(() =>
      post('unknown version', encode(VALID), refused(404, ErrorCode.VERSION_NOT_FOUND), at(versioned(9), readKey)),
    ),
  fc
    .constant(null)
    .map(() =>
      post(
        'archived version',
        encode(VALID),
        refused(409, ErrorCode.VERSION_ARCHIVED),
        at(versioned(ARCHIVED), readKey),
      ),
    ),
  fc
    .constantFrom(ARCHIVED, UNASSIGNED, 9)
    .map((v) => post('version no alias serves', encode(VALID), refused(403, ErrorCode.FORBIDDEN), at(versioned(v)))),
  fc
    .oneof(
      fc.constant(null),
      fc.constantFrom('', 'wrong-key', `${CLIENT_KEY}x`),
      fc.string({ minLength: 1, maxLength: 20 }).map((k) => `k${k.replace(/\W/g, '')}`),
    )
    .map((key) => post('missing or wrong key', encode(VALID), refused(401, ErrorCode.UNAUTHORIZED), { key })),
  fc
    .constant(null)
    .map(() => post('revoked key', encode(VALID), refused(401, ErrorCode.UNAUTHORIZED), { key: revokedKey })),
  fc.constantFrom('Basic dGVzdA==', `Token ${CLIENT_KEY}`, 'Bearer', `Bearer ${CLIENT_KEY} extra`).map((auth) =>
    post('malformed Authorization', encode(VALID), refused(401, ErrorCode.UNAUTHORIZED), {
      key: null,
      headers: { Authorization: auth },
    }),
  ),
);

/** One request of each kind the arbitraries draw from, so every kind is sent on every run. */
function oneOfEach(): Hostile[] {
  const big = MAX_TENSOR_ELEMENTS / 2 + 1;
  const bad = (label: string, body: unknown, exp = INPUT) => post(label, encode(body), exp);
  return [
    post('malformed JSON', '{"inputs":', BODY),
    post("the spec's response, its comma missing", '{ "id" : "42"\n "outputs" : [] }', BODY),
    post('not UTF-8', Uint8Array.from([...utf8('{"id":"'), 0xff, ...utf8(encode(VALID).slice(7))]), BODY),
    post('text/plain', encode(VALID), refused(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE), {
      headers: { 'Content-Type': 'text/plain' },
    }),
    post('over 8 MiB', encode({ ...VALID, pad: 'x'.repeat(LIMIT) }), refused(413, ErrorCode.PAYLOAD_TOO_LARGE)),
    post('NaN literal', encode(withInput(1, { data: [new Raw('NaN'), 0] })), BODY),
    ...Object.entries({ id: 42, parameters: 'x', inputs: {}, outputs: 'output0' }).map(([field, value]) =>
      bad(`${field} mistyped`, { ...VALID, [field]: value }, BODY),
    ),
    ...Object.entries({ name: 1, shape: '2,2', datatype: 'fp32', data: '1,2,3,4' }).map(([field, value]) =>
      bad(`input ${field} mistyped`, withInput(0, { [field]: value }), BODY),
    ),
    bad('no inputs', { id: '42' }, BODY),
    bad('unknown runtime', { ...VALID, parameters: { runtime: 'pytorch' } }, BODY),
    bad('explain_steps 0', { ...VALID, parameters: { explain: true, explain_steps: 0 } }, BODY),
    bad(
      'onnx, none exported',
      { ...VALID, parameters: { runtime: 'onnx' } },
      refused(400, ErrorCode.UNSUPPORTED_MODEL),
    ),
    bad('explain, two inputs', { ...VALID, parameters: { explain: true } }),
    bad('negative shape', withInput(0, { shape: [-1, 2] }), BODY),
    bad('fractional shape', withInput(0, { shape: [1.5, 2] }), BODY),
    bad('unknown input', { inputs: [input0, input1, { ...input1, name: 'input2' }] }),
    bad('input twice', { inputs: [input0, input1, input0] }),
    bad('input missing', { inputs: [input1] }),
    bad('unknown output', { ...VALID, outputs: [{ name: 'output2' }] }),
    bad('UINT32', withInput(0, { datatype: 'UINT32' })),
    bad('BOOL', withInput(1, { datatype: 'BOOL', data: [true, false] })),
    bad('shape and data differ', withInput(0, { data: [1, 2, 3] })),
    bad('shape product past 2^53', withInput(0, { shape: [Number.MAX_SAFE_INTEGER, 2] })),
    bad('over 2^20 elements', withInput(0, { shape: [big, 2], data: new Array(2 * big).fill(0) })),
    bad('1e999', withInput(1, { data: [new Raw('1e999'), 0] })),
    bad('"NaN"', withInput(1, { data: ['NaN', 0] })),
    bad('"Infinity"', withInput(1, { data: [1, '-Infinity'] })),
    bad('ragged', withInput(0, { data: [[1, 2], [3]] })),
    bad('10000 deep', withInput(0, { data: new Raw(`${'['.repeat(10_000)}1${']'.repeat(10_000)}`) })),
    bad('string in FP32', withInput(1, { data: ['1', 0] })),
    bad('float in INT32', withInput(0, { data: [1, 2.5, 3, 4] })),
    bad('batch sizes differ', withInput(1, { shape: [3, 1], data: [1, 0, 1] })),
    bad('empty batch', {
      inputs: [
        { ...input0, shape: [0, 2], data: [] },
        { ...input1, shape: [0, 1], data: [] },
      ],
    }),
    bad('beyond float32', withInput(1, { data: [1e39, 0] })),
    post('bad model', encode(VALID), refused(400, ErrorCode.INVALID_NAME), at('/v2/models/Not%20A%20Name/infer')),
    post('bad version', encode(VALID), refused(400, ErrorCode.BAD_REQUEST), at(versioned('v1'))),
    post('no key', encode(VALID), refused(401, ErrorCode.UNAUTHORIZED), { key: null }),
    post('wrong key', encode(VALID), refused(401, ErrorCode.UNAUTHORIZED), { key: 'wrong-key' }),
    post('archived', encode(VALID), refused(409, ErrorCode.VERSION_ARCHIVED), at(versioned(ARCHIVED), readKey)),
  ];
}

describe('POST /v2/models/{model}[/versions/{v}]/infer', () => {
  it('answers the valid request the hostile ones are made from', async () => {
    const res = await send(post('valid', encode(VALID)));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ model_name: MODEL, id: '42', outputs: [{ name: 'output0' }] });
  });

  it('refuses one request of each kind, the same way twice, writing nothing', async () => {
    const before = await snapshot(undefined, true, IGNORED);
    for (const h of oneOfEach()) {
      expect(h.expect, h.label).toBeDefined();
      const first = await refusal(h, await send(h));
      expect(await refusal(h, await send(h)), h.label).toEqual(first);
    }
    expect(await snapshot(undefined, true, IGNORED)).toBe(before);
  });

  it(
    'refuses malformed, mistyped, ill-shaped, oversized and misaddressed requests, writing nothing',
    async () => {
      const arb = fc.oneof(
        { weight: 5, arbitrary: brokenBodies },
        { weight: 4, arbitrary: badInputFields },
        { weight: 7, arbitrary: badInputs },
        { weight: 4, arbitrary: badTargets },
      );
      const sent = await refuseAll('POST /v2/models/{m}/infer', arb, {
        requests: 300,
        tables: TABLES,
        r2: true,
        ignoreTables: IGNORED,
      });
      expect(sent).toBeGreaterThanOrEqual(300);
    },
    LONG,
  );
});
