import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import type { ClientIdentity } from '../../protocol/clients.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { ADMIN_KEY, CLIENT_KEY, makeKey, registerClient } from './helpers.ts';
import { badVersionParam, brokenJson, encode, notString, refused, tooLong } from './hostile-arbitraries.ts';
import {
  badModelParam,
  bare,
  enc,
  MODEL,
  NOT_FOUND_MODEL,
  REGISTRY_TABLES,
  setUpRegistry,
} from './hostile-registry-fixture.ts';
import { refuseAll } from './hostile-runner.ts';

// Hostile input to the admin writes: archiving, drift acks, keys, key and client revocation
// (alias moves, rollouts and rollbacks are in hostile-registry.test.ts, publishing in
// hostile-publish.test.ts). Each
// request is refused with a 4xx and the contract's error body, and D1 and R2 stay as they were.

const LONG = 60_000;
let publishKey = '';
let readKey = '';
const SMALL_LIMIT = 64 * 1024;

let client: ClientIdentity;

beforeAll(async () => {
  ({ publishKey, readKey } = await setUpRegistry());
  client = await registerClient();
}, LONG);

/**
 * What every `POST /v1/models/{m}/versions/{v}/<action>` route refuses: bad version and model
 * parameters, versions and models that do not exist, and a key without the scope.
 */
function versionRouteCases(at: (model: string, version: string) => string, wrongKey: string, wrongKeyLabel: string) {
  return [
    badVersionParam.map((v) => bare('POST', at(MODEL, enc(v)), publishKey, `bad version ${JSON.stringify(v)}`)),
    badModelParam.map((m) => bare('POST', at(enc(m), '1'), publishKey, `bad model ${JSON.stringify(m)}`)),
    fc
      .integer({ min: 4, max: 999_999_999 })
      .map((v) =>
        bare('POST', at(MODEL, String(v)), publishKey, 'unknown version', refused(404, ErrorCode.VERSION_NOT_FOUND)),
      ),
    fc.constant(
      bare('POST', at(NOT_FOUND_MODEL, '1'), ADMIN_KEY, 'unknown model', refused(404, ErrorCode.MODEL_NOT_FOUND)),
    ),
    fc.constant(bare('POST', at(MODEL, '1'), wrongKey, wrongKeyLabel, refused(403, ErrorCode.FORBIDDEN))),
  ];
}

describe('POST /v1/models/{m}/versions/{v}/archive', () => {
  it(
    'refuses bad versions, unknown ones and versions in use',
    async () => {
      const at = (model: string, version: string) => `/v1/models/${model}/versions/${version}/archive`;
      const arb = fc.oneof(
        ...versionRouteCases(at, readKey, 'read key'),
        fc
          .constantFrom(1, 2)
          .map((v) =>
            bare('POST', at(MODEL, String(v)), ADMIN_KEY, 'version in use', refused(409, ErrorCode.VERSION_IN_USE)),
          ),
      );
      await refuseAll('POST /v1/models/{m}/versions/{v}/archive', arb, { requests: 220, tables: REGISTRY_TABLES });
    },
    LONG,
  );
});

describe('POST /v1/models/{m}/versions/{v}/drift/ack', () => {
  it(
    'refuses bad and unknown versions',
    async () => {
      const at = (model: string, version: string) => `/v1/models/${model}/versions/${version}/drift/ack`;
      const arb = fc.oneof(...versionRouteCases(at, CLIENT_KEY, 'client key'));
      await refuseAll('POST /v1/models/{m}/versions/{v}/drift/ack', arb, { requests: 220, tables: REGISTRY_TABLES });
    },
    LONG,
  );
});

describe('POST /v1/keys', () => {
  it(
    'refuses bad key requests, creating no key',
    async () => {
      const valid = { name: 'hostile', scopes: ['read'] };
      const badScopes = fc.oneof(
        notString.filter((x) => !(Array.isArray(x) && x.length > 0 && x.every((s) => s === 'read'))),
        fc.constant([]),
        fc.constantFrom(['root'], ['READ'], ['read', 'read'], ['admin', 'admin'], [null], ['read', 1], 'admin'),
        fc
          .array(fc.string(), { minLength: 1, maxLength: 5 })
          .filter((s) => s.some((x) => !['admin', 'publish', 'read', 'client'].includes(x))),
      );
      const arb = fc.oneof(
        {
          weight: 8,
          arbitrary: brokenJson({
            method: 'POST',
            path: '/v1/keys',
            key: ADMIN_KEY,
            valid,
            required: ['name', 'scopes'],
            breakers: { name: fc.oneof(notString, fc.constant(''), tooLong(100)), scopes: badScopes },
            limit: SMALL_LIMIT,
          }),
        },
        fc.constantFrom(publishKey, readKey, CLIENT_KEY).map((key) => ({
          ...bare('POST', '/v1/keys', key, 'not an admin', refused(403, ErrorCode.FORBIDDEN)),
          headers: { 'Content-Type': 'application/json' },
          body: encode({ name: 'escalate', scopes: ['admin'] }),
        })),
      );
      await refuseAll('POST /v1/keys', arb, { requests: 220, tables: ['api_keys'] });
    },
    LONG,
  );
});

describe('POST /v1/keys/{id}/revoke', () => {
  it(
    'refuses unknown key ids and non-admin callers, revoking nothing',
    async () => {
      const target = await makeKey('read');
      const arb = fc.oneof(
        fc
          .oneof(
            fc.string({ minLength: 1, maxLength: 80 }),
            fc.constantFrom('bootstrap-admin ', 'BOOTSTRAP-ADMIN', '../bootstrap-admin', '%00', `${target.id}x`, ' '),
            fc.uuid(),
          )
          .filter((id) => id !== target.id && !id.startsWith('bootstrap-') && id.trim() === id && id !== '')
          .map((id) => bare('POST', `/v1/keys/${enc(id)}/revoke`, ADMIN_KEY, `unknown id ${JSON.stringify(id)}`)),
        fc
          .constantFrom(publishKey, readKey, CLIENT_KEY)
          .map((key) =>
            bare('POST', `/v1/keys/${target.id}/revoke`, key, 'not an admin', refused(403, ErrorCode.FORBIDDEN)),
          ),
      );
      await refuseAll('POST /v1/keys/{id}/revoke', arb, { requests: 220, tables: ['api_keys'] });
    },
    LONG,
  );
});

describe('POST /v1/clients/{id}/revoke', () => {
  it(
    'refuses bad and unknown client ids and non-admin callers, revoking nobody',
    async () => {
      const arb = fc.oneof(
        fc
          .oneof(badModelParam, tooLong(64), fc.constantFrom('short', 'abc-def', 'x'.repeat(7)))
          .map((id) => bare('POST', `/v1/clients/${enc(id)}/revoke`, ADMIN_KEY, `bad id ${JSON.stringify(id)}`)),
        fc
          .stringMatching(/^[A-Za-z0-9_-]{8,64}$/)
          .filter((id) => id !== client.clientId)
          .map((id) =>
            bare(
              'POST',
              `/v1/clients/${id}/revoke`,
              ADMIN_KEY,
              'unknown client',
              refused(404, ErrorCode.CLIENT_NOT_FOUND),
            ),
          ),
        fc
          .constantFrom(publishKey, readKey, CLIENT_KEY)
          .map((key) =>
            bare(
              'POST',
              `/v1/clients/${client.clientId}/revoke`,
              key,
              'not an admin',
              refused(403, ErrorCode.FORBIDDEN),
            ),
          ),
      );
      await refuseAll('POST /v1/clients/{id}/revoke', arb, { requests: 220, tables: ['clients'] });
    },
    LONG,
  );
});
