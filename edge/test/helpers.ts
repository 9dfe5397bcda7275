import { env, exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import { CLIENT_TOKEN_HEADER, type ClientIdentity } from '../../protocol/clients.ts';
import type { Manifest } from '../../protocol/manifest.ts';

// Storage is shared by the tests of one file: tests use their own model/client names.

/** The env keys given in edge/vitest.config.ts. */
export const ADMIN_KEY = 'test-admin-key';
export const CLIENT_KEY = 'test-client-key';

/** Sends a request to the Worker under test (in-process, through its real fetch handler). */
export function api(path: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const { key, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key !== undefined) headers.set('Authorization', `Bearer ${key}`);
  return exports.default.fetch(`https://edge.test${path}`, { ...rest, headers });
}

/** Sends JSON with a key. */
export function sendJson(method: string, path: string, body: unknown, key: string): Promise<Response> {
  return api(path, { method, key, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/**
 * Registers a client through `POST /v1/clients` (starting at `nextSeq`, default 1) and
 * returns its id and token.
 */
export async function registerClient(nextSeq?: number, key = CLIENT_KEY): Promise<ClientIdentity> {
  const res = await sendJson('POST', '/v1/clients', nextSeq === undefined ? { v: 1 } : { v: 1, nextSeq }, key);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as ClientIdentity;
}

/** Sends JSON with a key and a client token (`Edgeloop-Client-Token`), as a client's writes do. */
export function sendAsClient(
  method: string,
  path: string,
  body: unknown,
  token: string | undefined,
  key = CLIENT_KEY,
  headers: Record<string, string> = {},
): Promise<Response> {
  const all: Record<string, string> = { 'Content-Type': 'application/json', ...headers };
  if (token !== undefined) all[CLIENT_TOKEN_HEADER] = token;
  return api(path, { method, key, headers: all, body: JSON.stringify(body) });
}

/** Posts an event batch for the client of `identity` with its token. */
export function sendEvents(
  identity: ClientIdentity,
  events: unknown[],
  options: { key?: string; batchId?: string } = {},
): Promise<Response> {
  const body = { v: 1, clientId: identity.clientId, batchId: options.batchId ?? `b-${crypto.randomUUID()}`, events };
  return sendAsClient('POST', '/v1/events', body, identity.token, options.key);
}

/** Asserts the contract's error body and status; returns the message. */
export async function expectError(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.message).not.toMatch(/\bat .*\.ts:\d+/);
  return body.error.message;
}

/** Creates an API key with `scopes` through the admin API and returns it. */
export async function makeKey(...scopes: string[]): Promise<{ id: string; key: string }> {
  const res = await sendJson('POST', '/v1/keys', { name: `test ${scopes.join('+')}`, scopes }, ADMIN_KEY);
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

/** Rows in a D1 table, optionally filtered by `where` (with `?` bound to `args`). */
export async function count(table: string, where = '1 = 1', ...args: unknown[]): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`)
    .bind(...args)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The shape of {@link modelFiles}' models: `inputs` values in, `units` values out. */
export type DenseShape = { inputs?: number; units?: number };

/**
 * A valid manifest for `name` listing `paths` (first one the model, the rest weights), with the
 * signature of {@link modelFiles}' models: `pixels` [-1, inputs] in, `probs` [-1, units] out.
 */
export function manifest(
  name: string,
  paths: string[] = ['model.json', 'weights.bin'],
  { inputs = 1, units = 1 }: DenseShape = {},
): Manifest {
  return {
    v: 1,
    name,
    format: 'tfjs-layers',
    inputs: [{ name: 'pixels', dtype: 'float32', shape: [-1, inputs] }],
    outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, units] }],
    features: { features: [{ name: 'pixels', kind: 'numeric' }] },
    files: paths.map((path, i) => ({ path, role: i === 0 ? 'model' : 'weights' })),
  };
}

/**
 * The model.json object of a Sequential model `tag` of one bias-free Dense layer "d" (`inputs`
 * → `units`), its kernel "d/kernel" float32 [inputs, units] stored across `paths` in order (tfjs
 * concatenates a group's shards before reading its weights).
 */
export function denseModelJson(tag: string, { inputs = 1, units = 1 }: DenseShape = {}, paths = ['weights.bin']) {
  const layer = {
    class_name: 'Dense',
    config: { units, use_bias: false, batch_input_shape: [null, inputs], name: 'd' },
  };
  return {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential', config: { name: tag, layers: [layer] } },
    weightsManifest: [{ paths, weights: [{ name: 'd/kernel', shape: [inputs, units], dtype: 'float32' }] }],
  };
}

/**
 * The files of a tiny valid tfjs-layers model named `tag` (so tags give different bytes): with
 * weights, one bias-free Dense layer of `units` on `inputs` values (model.json + weights.bin, its
 * kernel filled with `weight`: 4 bytes by default); without, one linear Activation on one value
 * (model.json alone, an empty weights manifest).
 */
export function modelFiles(
  tag = 'm',
  { weights = true, weight = 1, inputs = 1, units = 1 }: { weights?: boolean; weight?: number } & DenseShape = {},
): Record<string, Uint8Array> {
  if (!weights) {
    const layer = {
      class_name: 'Activation',
      config: { activation: 'linear', batch_input_shape: [null, 1], name: 'a' },
    };
    const modelJson = {
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential', config: { name: tag, layers: [layer] } },
      weightsManifest: [],
    };
    return { 'model.json': bytes(JSON.stringify(modelJson)) };
  }
  return {
    'model.json': bytes(JSON.stringify(denseModelJson(tag, { inputs, units }))),
    'weights.bin': new Uint8Array(new Float32Array(inputs * units).fill(weight).buffer),
  };
}

/** A publish form: the manifest part plus one file part per entry of `files`. */
export function publishForm(man: unknown, files: Record<string, Uint8Array>): FormData {
  const form = new FormData();
  form.append('manifest', JSON.stringify(man));
  for (const [path, data] of Object.entries(files)) form.append(path, new Blob([data]), path);
  return form;
}

/** Publishes `files` as the next version of `model` with the admin key; returns the response. */
export function publish(
  model: string,
  files: Record<string, Uint8Array>,
  man: unknown = manifest(model, Object.keys(files)),
) {
  return api(`/v1/models/${model}/versions`, { method: 'POST', key: ADMIN_KEY, body: publishForm(man, files) });
}

/** Publishes a two-file version and points `alias` at it; returns the version number. */
export async function publishAliased(model: string, alias = 'production'): Promise<number> {
  const res = await publish(model, modelFiles(model));
  expect(res.status).toBe(201);
  const { version } = (await res.json()) as { version: number };
  const set = await sendJson('PUT', `/v1/models/${model}/aliases/${alias}`, { version }, ADMIN_KEY);
  expect(set.status).toBe(200);
  return version;
}
