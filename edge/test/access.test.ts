import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import { envelope, hourAgo, inDistribution, publishDrift } from './drift-helpers.ts';
import {
  ADMIN_KEY,
  api,
  CLIENT_KEY,
  expectError,
  makeKey,
  modelFiles,
  publish,
  publishAliased,
  publishForm,
  manifest as refManifest,
  registerClient,
  sendEvents,
  sendJson,
} from './helpers.ts';

// Every route × every kind of caller: 401 without a valid key, 403 without the scope, and a
// refused request leaves D1 and R2 exactly as they were. Client writes (events, profiles) carry
// the token of a client registered beforehand, as a real client's do.

type Kind = 'none' | 'invalid' | 'revoked' | 'client' | 'read' | 'publish' | 'admin';
const KINDS: Kind[] = ['none', 'invalid', 'revoked', 'client', 'read', 'publish', 'admin'];
const keys = new Map<Kind, string | undefined>();

interface Route {
  name: string;
  allowed: Kind[];
  /** Prepares what the request needs (with the admin key), then returns the request to send as `kind`. */
  prepare(key: string | undefined, kind: Kind): Promise<() => Promise<Response>>;
}

const MODEL = 'access';
const uuid = () => crypto.randomUUID();
const json = (method: string, path: string, body: unknown, key?: string, token?: string) =>
  api(path, {
    method,
    key,
    headers: { 'Content-Type': 'application/json', ...(token ? { [CLIENT_TOKEN_HEADER]: token } : {}) },
    body: JSON.stringify(body),
  });

/**
 * A run owned by the caller when it may create runs (a device writes only to its own, with the
 * `token` of the device that created it), else by the admin.
 */
async function runFor(key: string | undefined, kind: Kind, token?: string): Promise<string> {
  const owner = ['client', 'publish', 'admin'].includes(kind) && key ? key : ADMIN_KEY;
  const res = await json('POST', '/v1/runs', { v: 1, model: MODEL }, owner, token);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function version(): Promise<number> {
  const res = await publish(MODEL, modelFiles(uuid()));
  expect(res.status).toBe(201);
  return ((await res.json()) as { version: number }).version;
}

const READERS: Kind[] = ['read', 'publish', 'admin'];
const DRIFT_MODEL = 'access-drift';
const PUBLISHERS: Kind[] = ['publish', 'admin'];

const routes: Route[] = [
  { name: 'GET /v1/models', allowed: READERS, prepare: async (key) => () => api('/v1/models', { key }) },
  {
    name: 'POST /v1/models/{m}/versions',
    allowed: PUBLISHERS,
    prepare: async (key) => () =>
      api(`/v1/models/${MODEL}/versions`, {
        method: 'POST',
        key,
        body: publishForm(refManifest(MODEL, ['model.json']), modelFiles(uuid(), { weights: false })),
      }),
  },
  {
    name: 'GET /v1/models/{m}/versions',
    allowed: READERS,
    prepare: async (key) => () => api(`/v1/models/${MODEL}/versions`, { key }),
  },
  {
    name: 'GET /v1/models/{m}/versions/{v} (aliased)',
    allowed: [...READERS, 'client'],
    prepare: async (key) => () => api(`/v1/models/${MODEL}/versions/1`, { key }),
  },
  {
    name: 'GET /v1/models/{m}/versions/{v}/files/{path} (aliased)',
    allowed: [...READERS, 'client'],
    prepare: async (key) => () => api(`/v1/models/${MODEL}/versions/1/files/model.json`, { key }),
  },
  {
    name: 'PUT /v1/models/{m}/aliases/{a}',
    allowed: PUBLISHERS,
    prepare: async (key) => () =>
      json('PUT', `/v1/models/${MODEL}/aliases/staging`, { version: 1, reason: 'access test' }, key),
  },
  {
    name: 'GET /v1/models/{m}/aliases/{a}',
    allowed: READERS,
    prepare: async (key) => () => api(`/v1/models/${MODEL}/aliases/production`, { key }),
  },
  {
    name: 'PUT /v1/models/{m}/aliases/{a}/rollout',
    allowed: PUBLISHERS,
    prepare: async (key) => () => json('PUT', `/v1/models/${MODEL}/aliases/production/rollout`, {}, key),
  },
  {
    name: 'POST /v1/models/{m}/aliases/{a}/rollback',
    allowed: PUBLISHERS,
    prepare: async (key) => {
      const alias = `rb-${uuid().slice(0, 8)}`;
      for (const v of [1, await version()]) {
        expect((await sendJson('PUT', `/v1/models/${MODEL}/aliases/${alias}`, { version: v }, ADMIN_KEY)).status).toBe(
          200,
        );
      }
      return () => api(`/v1/models/${MODEL}/aliases/${alias}/rollback`, { method: 'POST', key });
    },
  },
  {
    name: 'POST /v1/models/{m}/versions/{v}/archive',
    allowed: PUBLISHERS,
    prepare: async (key) => {
      const v = await version();
      return () => api(`/v1/models/${MODEL}/versions/${v}/archive`, { method: 'POST', key });
    },
  },
  {
    name: 'GET /v1/models/{m}/resolve',
    allowed: [...READERS, 'client'],
    prepare: async (key) => () => api(`/v1/models/${MODEL}/resolve?alias=production&client=c_access01`, { key }),
  },
  {
    name: 'POST /v1/events',
    allowed: ['client', 'admin'],
    prepare: async (key) => {
      const client = await registerClient();
      return () => {
        const id = uuid();
        const event = {
          id,
          seq: 1,
          type: 'prediction',
          ts: 1,
          model: MODEL,
          version: 1,
          predictionId: id,
          outputs: [1],
        };
        return json(
          'POST',
          '/v1/events',
          { v: 1, clientId: client.clientId, batchId: id, events: [event] },
          key,
          client.token,
        );
      };
    },
  },
  {
    name: 'POST /v1/profiles',
    allowed: ['client', 'admin'],
    prepare: async (key) => {
      const v = await publishDrift(DRIFT_MODEL);
      const { clientId, token } = await registerClient();
      const body = { v: 1, clientId, profiles: [envelope(DRIFT_MODEL, v, hourAgo(1), inDistribution(5, 1))] };
      return () => json('POST', '/v1/profiles', body, key, token);
    },
  },
  {
    name: 'GET /v1/models/{m}/versions/{v}/drift',
    allowed: READERS,
    prepare: async (key) => {
      const v = await publishDrift(DRIFT_MODEL);
      return () => api(`/v1/models/${DRIFT_MODEL}/versions/${v}/drift`, { key });
    },
  },
  {
    name: 'GET /v1/models/{m}/versions/{v}/drift/windows',
    allowed: READERS,
    prepare: async (key) => {
      const v = await publishDrift(DRIFT_MODEL);
      return () => api(`/v1/models/${DRIFT_MODEL}/versions/${v}/drift/windows`, { key });
    },
  },
  {
    name: 'GET /v1/models/{m}/versions/{v}/card',
    allowed: READERS,
    prepare: async (key) => () => api(`/v1/models/${MODEL}/versions/1/card`, { key }),
  },
  {
    name: 'POST /v1/models/{m}/versions/{v}/drift/ack',
    allowed: PUBLISHERS,
    prepare: async (key) => () => api(`/v1/models/${MODEL}/versions/1/drift/ack`, { method: 'POST', key }),
  },
  { name: 'GET /metrics', allowed: READERS, prepare: async (key) => () => api('/metrics', { key }) },
  {
    name: 'GET /v1/clients/{id}',
    allowed: READERS,
    prepare: async (key) => {
      const id = uuid();
      const event = { id, seq: 1, type: 'prediction', ts: 1, model: MODEL, version: 1, predictionId: id, outputs: [1] };
      const client = await registerClient();
      expect((await sendEvents(client, [event])).status).toBe(200);
      return () => api(`/v1/clients/${client.clientId}`, { key });
    },
  },
  {
    name: 'POST /v1/clients',
    allowed: ['client', 'admin'],
    prepare: async (key) => () => json('POST', '/v1/clients', { v: 1 }, key),
  },
  {
    name: 'POST /v1/clients/{id}/revoke',
    allowed: ['admin'],
    prepare: async (key) => {
      const { clientId } = await registerClient();
      return () => api(`/v1/clients/${clientId}/revoke`, { method: 'POST', key });
    },
  },
  {
    name: 'POST /v1/clients/{id}/erase',
    allowed: ['client', 'admin'],
    prepare: async (key) => {
      const { clientId, token } = await registerClient();
      return () => json('POST', `/v1/clients/${clientId}/erase`, {}, key, token);
    },
  },
  {
    name: 'POST /v1/keys',
    allowed: ['admin'],
    prepare: async (key) => () => json('POST', '/v1/keys', { name: 'made in access test', scopes: ['read'] }, key),
  },
  { name: 'GET /v1/keys', allowed: ['admin'], prepare: async (key) => () => api('/v1/keys', { key }) },
  {
    name: 'POST /v1/keys/{id}/revoke',
    allowed: ['admin'],
    prepare: async (key) => {
      const { id } = await makeKey('read');
      return () => api(`/v1/keys/${id}/revoke`, { method: 'POST', key });
    },
  },
  {
    name: 'POST /v1/runs',
    allowed: ['client', 'publish', 'admin'],
    prepare: async (key) => {
      const { token } = await registerClient();
      return () => json('POST', '/v1/runs', { v: 1, model: MODEL, params: { lr: 0.1 } }, key, token);
    },
  },
  { name: 'GET /v1/runs', allowed: READERS, prepare: async (key) => () => api('/v1/runs', { key }) },
  {
    name: 'GET /v1/runs/{id}',
    allowed: READERS,
    prepare: async (key, kind) => {
      const id = await runFor(undefined, kind);
      return () => api(`/v1/runs/${id}`, { key });
    },
  },
  {
    name: 'GET /v1/runs/compare',
    allowed: READERS,
    prepare: async (key, kind) => {
      const id = await runFor(undefined, kind);
      return () => api(`/v1/runs/compare?ids=${id}`, { key });
    },
  },
  {
    name: 'GET /v1/runs/{id}/metrics/{key}',
    allowed: READERS,
    prepare: async (key, kind) => {
      const id = await runFor(undefined, kind);
      return () => api(`/v1/runs/${id}/metrics/loss`, { key });
    },
  },
  {
    name: 'POST /v1/runs/{id}/metrics',
    allowed: ['client', 'publish', 'admin'],
    prepare: async (key, kind) => {
      const { token } = await registerClient();
      const id = await runFor(key, kind, token);
      return () =>
        json('POST', `/v1/runs/${id}/metrics`, { v: 1, metrics: [{ key: 'loss', value: 1, step: 0 }] }, key, token);
    },
  },
  {
    name: 'PATCH /v1/runs/{id}',
    allowed: ['client', 'publish', 'admin'],
    prepare: async (key, kind) => {
      const { token } = await registerClient();
      const id = await runFor(key, kind, token);
      return () => json('PATCH', `/v1/runs/${id}`, { v: 1, status: 'finished' }, key, token);
    },
  },
];

/** Every row of every table, and every R2 key: a refused request must change none of it. */
async function state(): Promise<string> {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
  ).all<{ name: string }>();
  const dump: Record<string, unknown[]> = {};
  for (const { name } of tables)
    dump[name] = (await env.DB.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all()).results;
  const blobs = await env.ARTIFACTS.list();
  return JSON.stringify({ dump, blobs: blobs.objects.map((o) => o.key) });
}

beforeAll(async () => {
  await publishAliased(MODEL);
  const revoked = await makeKey('admin');
  expect((await api(`/v1/keys/${revoked.id}/revoke`, { method: 'POST', key: ADMIN_KEY })).status).toBe(200);
  // The env keys are stored (hashed) on their first use: do that now, so it is not taken
  // for a write by the first refused request.
  expect((await api(`/v1/models/${MODEL}/resolve`, { key: CLIENT_KEY })).status).toBe(200);
  keys.set('none', undefined);
  keys.set('invalid', 'el_not_a_real_key');
  keys.set('revoked', revoked.key);
  keys.set('client', CLIENT_KEY);
  keys.set('read', (await makeKey('read')).key);
  keys.set('publish', (await makeKey('publish')).key);
  keys.set('admin', ADMIN_KEY);
});

describe.each(routes)('$name', (route) => {
  it.each(KINDS)('as %s', async (kind) => {
    const key = keys.get(kind);
    const send = await route.prepare(key, kind);
    if (route.allowed.includes(kind)) {
      const res = await send();
      expect(res.status, await res.clone().text()).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(300);
      return;
    }
    const before = await state();
    const [status, code] = ['none', 'invalid', 'revoked'].includes(kind) ? [401, 'UNAUTHORIZED'] : [403, 'FORBIDDEN'];
    await expectError(await send(), status, code);
    expect(await state()).toBe(before);
  });
});
