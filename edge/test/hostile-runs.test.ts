import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { ADMIN_KEY, api, makeKey, modelFiles, publish, registerClient, sendAsClient, sendJson } from './helpers.ts';
import {
  badName,
  brokenJson,
  encode,
  type Hostile,
  notFinite,
  notNaturalInt,
  notPositiveInt,
  notString,
  refused,
  tooLong,
} from './hostile-arbitraries.ts';
import { refuseAll } from './hostile-runner.ts';

// Hostile input to the experiment-tracking writes: creating runs, logging metrics, updating
// runs. Each request is refused with a 4xx and the contract's error body, and the runs tables
// stay exactly as they were. Publish keys are not rate limited; client keys get their own
// CF-Connecting-IP per property.

const LONG = 120_000;
const RUN_LIMIT = 1024 * 1024;
const MODEL = 'hostile-runs';
const RUN_TABLES = ['runs', 'run_metrics', 'run_versions'];
const json = { 'Content-Type': 'application/json' };

let publishKey = '';
let clientA = ''; // a client key; with tokenA it is the device that owns runA
let clientB = ''; // another client key; with tokenB a device that owns nothing
let tokenA = '';
let tokenB = '';
/** Headers of a device's request: its token, as every device write carries it. */
const device = (key: string) => ({ [CLIENT_TOKEN_HEADER]: key === clientA ? tokenA : tokenB });
let runA = ''; // running, created by clientA
let runDone = ''; // finished

async function createRun(key: string, token?: string): Promise<string> {
  const res = await sendAsClient('POST', '/v1/runs', { v: 1, model: MODEL }, token, key);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  expect((await api('/v1/keys', { key: ADMIN_KEY })).status).toBe(200);
  publishKey = (await makeKey('publish')).key;
  clientA = (await makeKey('client')).key;
  clientB = (await makeKey('client')).key;
  tokenA = (await registerClient()).token;
  tokenB = (await registerClient()).token;
  const res = await publish(MODEL, modelFiles(MODEL));
  expect(res.status).toBe(201);
  runA = await createRun(clientA, tokenA);
  runDone = await createRun(publishKey);
  expect((await sendJson('PATCH', `/v1/runs/${runDone}`, { v: 1, status: 'finished' }, publishKey)).status).toBe(200);
  // Fill runA's tags to the limit, so one more is refused.
  const tags = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`t${i}`, 'x']));
  expect((await sendAsClient('PATCH', `/v1/runs/${runA}`, { v: 1, tags }, tokenA, clientA)).status).toBe(200);
}, LONG);

/** Run keys (params, tags, metrics) the pattern `^[\w.\-/]{1,250}$` refuses. */
const badKey = fc.oneof(
  fc.constantFrom('', ' ', 'a b', 'é', 'a:b', 'a\u0000', 'k'.repeat(251), '$', 'a,b'),
  fc.string({ minLength: 1, maxLength: 10 }).map((s) => `${s}!`),
);
const manyEntries = (n: number, value: unknown) =>
  fc.constant(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value])));
const badParams = fc.oneof(
  notString.filter((x) => x === null || typeof x !== 'object' || Array.isArray(x)),
  badKey.map((k) => ({ [k]: 1 })),
  fc.constantFrom<unknown>(null, {}, [], [1], { x: 1 }).map((value) => ({ p: value })),
  tooLong(6000).map((value) => ({ p: value })),
  notFinite.filter((x) => typeof x !== 'string' && typeof x !== 'boolean').map((value) => ({ p: value })),
  manyEntries(101, 1),
);
const badTags = fc.oneof(
  notString.filter((x) => x === null || typeof x !== 'object' || Array.isArray(x)),
  badKey.map((k) => ({ [k]: 'x' })),
  notString.map((value) => ({ t: value })),
  tooLong(5000).map((value) => ({ t: value })),
  manyEntries(101, 'x'),
);

describe('POST /v1/runs', () => {
  it(
    'refuses bad run definitions, creating no run',
    async () => {
      const valid = { v: 1, model: MODEL, name: 'hostile', params: { lr: 0.1 }, tags: { a: 'b' }, parentVersion: 1 };
      const arb = fc.oneof(
        {
          weight: 8,
          arbitrary: brokenJson({
            method: 'POST',
            path: '/v1/runs',
            key: publishKey,
            valid,
            required: ['v', 'model'],
            breakers: {
              v: fc.oneof(
                fc.constantFrom<unknown>(0, 2, '1', null),
                notPositiveInt.filter((x) => x !== 1),
              ),
              model: fc.oneof(notString, badName),
              name: fc.oneof(notString, fc.constant(''), tooLong(250)),
              params: badParams,
              tags: badTags,
              parentVersion: notPositiveInt,
            },
            limit: RUN_LIMIT,
          }),
        },
        fc.integer({ min: 2, max: 999_999 }).map(
          (parentVersion): Hostile => ({
            label: 'unknown parent',
            method: 'POST',
            path: '/v1/runs',
            key: clientA,
            headers: { ...json, ...device(clientA), 'CF-Connecting-IP': '198.51.100.20' },
            body: encode({ v: 1, model: MODEL, parentVersion }),
            expect: refused(404, ErrorCode.VERSION_NOT_FOUND),
          }),
        ),
      );
      await refuseAll('POST /v1/runs', arb, { requests: 220, tables: RUN_TABLES });
    },
    LONG,
  );
});

const badRunId = fc.oneof(
  fc.constantFrom('run_', 'run_XYZ', `run_${'0'.repeat(31)}`, `run_${'0'.repeat(33)}`, `RUN_${'a'.repeat(32)}`, 'x'),
  fc.stringMatching(/^run_[0-9a-f]{32}$/),
);

describe('POST /v1/runs/{id}/metrics', () => {
  it(
    'refuses bad points, unknown runs, finished runs and other callers’ runs, logging nothing',
    async () => {
      const valid = { v: 1, metrics: [{ key: 'loss', value: 0.5, step: 1, ts: 1 }] };
      const point = (change: Record<string, unknown>) => ({
        v: 1,
        metrics: [{ key: 'loss', value: 0.5, step: 1, ...change }],
      });
      const ip = '198.51.100.21';
      const as = (key: string, path: string, body: unknown, label: string, exp?: Hostile['expect']): Hostile => ({
        label,
        method: 'POST',
        path,
        key,
        headers: { ...json, ...(key === publishKey ? {} : device(key)), 'CF-Connecting-IP': ip },
        body: encode(body),
        expect: exp,
      });
      const invalid = refused(400, ErrorCode.INVALID_BODY);
      const path = `/v1/runs/${runA}/metrics`;
      const arb = fc.oneof(
        {
          weight: 6,
          arbitrary: brokenJson({
            method: 'POST',
            path,
            key: clientA,
            headers: { ...device(clientA), 'CF-Connecting-IP': ip },
            valid,
            required: ['v', 'metrics'],
            breakers: {
              v: fc.oneof(
                fc.constantFrom<unknown>(0, 2, '1', null),
                notPositiveInt.filter((x) => x !== 1),
              ),
              metrics: fc.oneof(
                notString.filter((x) => !Array.isArray(x) || x.length === 0 || typeof x[0] !== 'object'),
                fc.constant([]),
                fc.constant(Array.from({ length: 1001 }, (_, step) => ({ key: 'k', value: 1, step }))),
                fc.constant([
                  { key: 'k', value: 1, step: 1 },
                  { key: 'k', value: 2, step: 1 },
                ]),
              ),
            },
            limit: RUN_LIMIT,
          }),
        },
        fc
          .oneof(
            badKey.map((key) => ({ key })),
            notFinite.map((value) => ({ value })),
            fc.oneof(notNaturalInt, fc.constant(2 ** 53)).map((step) => ({ step })),
            notNaturalInt.map((ts) => ({ ts })),
            fc.constant({ extra: 1 }),
            fc.constantFrom('key', 'value', 'step').map((field) => ({ [field]: undefined })),
          )
          .map((change) => as(clientA, path, point(change), 'bad point', invalid)),
        badRunId.map((id) =>
          as(publishKey, `/v1/runs/${id}/metrics`, valid, 'unknown run', refused(404, ErrorCode.RUN_NOT_FOUND)),
        ),
        fc.constant(as(clientB, path, valid, "another client's run", refused(403, ErrorCode.FORBIDDEN))),
        fc.constant(
          as(publishKey, `/v1/runs/${runDone}/metrics`, valid, 'finished run', refused(409, ErrorCode.RUN_FINISHED)),
        ),
      );
      await refuseAll('POST /v1/runs/{id}/metrics', arb, { requests: 220, tables: RUN_TABLES });
    },
    LONG,
  );
});

describe('PATCH /v1/runs/{id}', () => {
  it(
    'refuses bad updates, unknown runs, finished runs and other callers’ runs, changing nothing',
    async () => {
      const ip = '198.51.100.22';
      const path = `/v1/runs/${runA}`;
      const as = (key: string, at: string, body: unknown, label: string, exp?: Hostile['expect']): Hostile => ({
        label,
        method: 'PATCH',
        path: at,
        key,
        headers: { ...json, ...(key === publishKey ? {} : device(key)), 'CF-Connecting-IP': ip },
        body: encode(body),
        expect: exp,
      });
      const arb = fc.oneof(
        {
          weight: 6,
          arbitrary: brokenJson({
            method: 'PATCH',
            path,
            key: publishKey,
            valid: { v: 1, status: 'killed', tags: { t0: 'y' }, versions: [1] },
            required: ['v'],
            breakers: {
              v: fc.oneof(
                fc.constantFrom<unknown>(0, 2, '1', null),
                notPositiveInt.filter((x) => x !== 1),
              ),
              status: fc.oneof(notString, fc.constantFrom('running', 'done', 'FINISHED', '')),
              tags: badTags,
              versions: fc.oneof(
                notString.filter((x) => !Array.isArray(x) || x.length === 0 || typeof x[0] !== 'number'),
                fc.constant([]),
                notPositiveInt.map((n) => [n]),
                fc.constant(Array.from({ length: 101 }, () => 1)),
              ),
            },
            limit: 1024 * 1024,
          }),
        },
        fc.constant(as(publishKey, path, { v: 1 }, 'nothing to update', refused(400, ErrorCode.INVALID_BODY))),
        fc.constant(
          as(publishKey, path, { v: 1, tags: { t100: 'x' } }, 'tag 101', refused(400, ErrorCode.INVALID_BODY)),
        ),
        fc
          .integer({ min: 2, max: 999_999 })
          .map((n) =>
            as(publishKey, path, { v: 1, versions: [n] }, 'unknown version', refused(404, ErrorCode.VERSION_NOT_FOUND)),
          ),
        fc.constant(
          as(clientA, path, { v: 1, versions: [1] }, 'client links versions', refused(403, ErrorCode.FORBIDDEN)),
        ),
        fc.constant(
          as(clientB, path, { v: 1, status: 'failed' }, "another client's run", refused(403, ErrorCode.FORBIDDEN)),
        ),
        fc
          .constantFrom('failed', 'killed')
          .map((status) =>
            as(
              publishKey,
              `/v1/runs/${runDone}`,
              { v: 1, status },
              'finished run',
              refused(409, ErrorCode.RUN_FINISHED),
            ),
          ),
        badRunId.map((id) =>
          as(
            publishKey,
            `/v1/runs/${id}`,
            { v: 1, status: 'failed' },
            'unknown run',
            refused(404, ErrorCode.RUN_NOT_FOUND),
          ),
        ),
      );
      await refuseAll('PATCH /v1/runs/{id}', arb, { requests: 220, tables: RUN_TABLES });
    },
    LONG,
  );
});
