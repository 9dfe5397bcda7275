import { expect } from 'vitest';
import { ADMIN_KEY, api, CLIENT_KEY, makeKey, modelFiles, publish, publishAliased, sendJson } from './helpers.ts';
import { badName, type Hostile } from './hostile-arbitraries.ts';

// The registry the hostile suites of registry and admin writes run against, and what they share.

export const MODEL = 'hostile-reg';
export const NOT_FOUND_MODEL = 'no-such-model';
/** v1: production, v2: ready (the production canary), v3: archived. */
export const ARCHIVED = 3;
export const REGISTRY_TABLES = ['models', 'versions', 'files', 'aliases', 'alias_events', 'drift_alerts'];
export const enc = encodeURIComponent;

/**
 * Stores the bootstrap keys (done on first use, so before any snapshot), makes a publish and a
 * read key, and publishes MODEL: v1 production, v2 its canary (in use), v3 archived.
 */
export async function setUpRegistry(): Promise<{ publishKey: string; readKey: string }> {
  expect((await api('/v1/keys', { key: ADMIN_KEY })).status).toBe(200);
  expect((await api('/v1/models', { key: CLIENT_KEY })).status).toBe(403);
  const publishKey = (await makeKey('publish')).key;
  const readKey = (await makeKey('read')).key;
  expect(await publishAliased(MODEL)).toBe(1);
  for (const n of [2, 3]) {
    const res = await publish(MODEL, modelFiles(`v${n}`, { weight: n }));
    expect(res.status).toBe(201);
  }
  const archived = await api(`/v1/models/${MODEL}/versions/${ARCHIVED}/archive`, { method: 'POST', key: ADMIN_KEY });
  expect(archived.status).toBe(200);
  const rollout = { canary: { version: 2, percent: 10 } };
  const canary = await sendJson('PUT', `/v1/models/${MODEL}/aliases/production/rollout`, rollout, ADMIN_KEY);
  expect(canary.status).toBe(200);
  return { publishKey, readKey };
}

/** A request with no body (or a junk one the route must not read). */
export const bare = (method: string, path: string, key: string, label: string, exp?: Hostile['expect']): Hostile => ({
  label,
  method,
  path,
  key,
  expect: exp,
});

/** Bad `{model}` path parts (400 INVALID_NAME, or 404 when they do not route). */
export const badModelParam = badName.filter((s) => s !== '' && s !== '.' && s !== '..');
