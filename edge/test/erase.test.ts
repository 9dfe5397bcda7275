import { describe, expect, it } from 'vitest';
import type { ClientIdentity, EraseReceipt } from '../../protocol/clients.ts';
import { envelope, hourAgo, inDistribution, publishDrift } from './drift-helpers.ts';
import {
  ADMIN_KEY,
  api,
  CLIENT_KEY,
  count,
  expectError,
  makeKey,
  registerClient,
  sendAsClient,
  sendEvents,
  sendJson,
} from './helpers.ts';

// `POST /v1/clients/{id}/erase`: everything the edge holds of one client goes (events applied
// and refused, its runs, its drift profiles, its registration), nothing of anyone else's; the
// answer is a receipt, and asking again answers the same receipt.

const MODEL = 'erase-drift';

function prediction(seq: number, ts = Date.now()) {
  const id = crypto.randomUUID();
  return { id, seq, type: 'prediction', ts, model: MODEL, version: 1, predictionId: id, outputs: [0.2, 0.8] };
}

/** A client with 3 events (one of them refused), a run with 2 metric points and 2 drift profiles. */
async function busyClient(): Promise<ClientIdentity> {
  const client = await registerClient();
  const events = [prediction(1), prediction(2), { ...prediction(3), outputs: 'not a vector' }];
  const sent = await sendEvents(client, events);
  expect(sent.status).toBe(200);
  expect(((await sent.json()) as { accepted: number }).accepted).toBe(2);
  const run = await sendAsClient('POST', '/v1/runs', { v: 1, model: MODEL, params: { lr: 0.1 } }, client.token);
  expect(run.status, await run.clone().text()).toBe(201);
  const { id } = (await run.json()) as { id: string };
  const metrics = [
    { key: 'loss', value: 1, step: 1 },
    { key: 'loss', value: 0.5, step: 2 },
  ];
  expect((await sendAsClient('POST', `/v1/runs/${id}/metrics`, { v: 1, metrics }, client.token)).status).toBe(200);
  const version = 1;
  const profiles = [
    envelope(MODEL, version, hourAgo(1), inDistribution(20, 1)),
    envelope(MODEL, version, hourAgo(2), inDistribution(30, 2)),
  ];
  const res = await sendAsClient('POST', '/v1/profiles', { v: 1, clientId: client.clientId, profiles }, client.token);
  expect(res.status, await res.clone().text()).toBe(200);
  return client;
}

/** Rows the edge's D1 holds of a client, table by table. */
async function heldOf(clientId: string) {
  return {
    events: await count('events', 'client_id = ?', clientId),
    rejected: await count('rejected_events', 'client_id = ?', clientId),
    runs: await count('runs', 'client_id = ?', clientId),
    metrics: await count('run_metrics', 'run_id IN (SELECT id FROM runs WHERE client_id = ?)', clientId),
    registration: await count('clients', 'client_id = ?', clientId),
  };
}

const erase = (clientId: string, token?: string, key = CLIENT_KEY) =>
  sendAsClient('POST', `/v1/clients/${clientId}/erase`, {}, token, key);

describe('POST /v1/clients/{id}/erase', () => {
  it('removes everything of the client with its token, answers a receipt, and the same receipt again', async () => {
    expect(await publishDrift(MODEL)).toBe(1);
    const client = await busyClient();
    const other = await busyClient();
    const otherBefore = await heldOf(other.clientId);
    expect(await heldOf(client.clientId)).toEqual({ events: 2, rejected: 1, runs: 1, metrics: 2, registration: 1 });

    const res = await erase(client.clientId, client.token);
    expect(res.status, await res.clone().text()).toBe(200);
    const receipt = (await res.json()) as EraseReceipt;
    expect(receipt).toMatchObject({
      v: 1,
      clientId: client.clientId,
      by: 'client',
      removed: {
        events: 2,
        rejectedEvents: 1,
        runs: 1,
        runMetrics: 2,
        driftProfiles: 2,
        driftRows: 50,
        registration: true,
      },
      drift: { versions: [{ model: MODEL, version: 1 }] },
    });
    expect(receipt.erasedAt).toBeGreaterThanOrEqual(receipt.requestedAt);
    expect(await heldOf(client.clientId)).toEqual({ events: 0, rejected: 0, runs: 0, metrics: 0, registration: 0 });
    expect(await heldOf(other.clientId)).toEqual(otherBefore);

    // Asked again (a retry after a lost answer): the same receipt, nothing else removed.
    const again = await erase(client.clientId, client.token);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(receipt);
    expect(await heldOf(other.clientId)).toEqual(otherBefore);

    // The erased client's token writes nothing any more; its id is unknown to reads.
    const late = await sendEvents(client, [prediction(4)]);
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(await count('events', 'client_id = ?', client.clientId)).toBe(0);
    await expectError(await api(`/v1/clients/${client.clientId}`, { key: ADMIN_KEY }), 404, 'CLIENT_NOT_FOUND');
  });

  it('is the client’s own or an admin’s: other tokens, no token and other scopes are refused, changing nothing', async () => {
    const client = await busyClient();
    const other = await registerClient();
    const held = await heldOf(client.clientId);
    await expectError(await erase(client.clientId), 401, 'INVALID_CLIENT_TOKEN');
    await expectError(await erase(client.clientId, other.token), 401, 'INVALID_CLIENT_TOKEN');
    await expectError(await erase(client.clientId, `${client.clientId}.forged`), 401, 'INVALID_CLIENT_TOKEN');
    await expectError(await erase(client.clientId, client.token, (await makeKey('read')).key), 403, 'FORBIDDEN');
    await expectError(await erase(client.clientId, client.token, (await makeKey('publish')).key), 403, 'FORBIDDEN');
    expect(await heldOf(client.clientId)).toEqual(held);
    expect(await count('client_erasures', 'client_id = ?', client.clientId)).toBe(0);

    // An admin needs no token; a revoked client may still ask for its own erasure.
    expect((await sendJson('POST', `/v1/clients/${other.clientId}/revoke`, {}, ADMIN_KEY)).status).toBe(200);
    const own = await erase(other.clientId, other.token);
    expect(own.status).toBe(200);
    expect(((await own.json()) as EraseReceipt).by).toBe('client');
    const byAdmin = await erase(client.clientId, undefined, ADMIN_KEY);
    expect(byAdmin.status).toBe(200);
    expect(((await byAdmin.json()) as EraseReceipt).by).toBe('admin');
    expect(await heldOf(client.clientId)).toEqual({ events: 0, rejected: 0, runs: 0, metrics: 0, registration: 0 });
  });

  it('answers 404 for a client the edge never knew, recording nothing', async () => {
    const unknown = 'c_AAAAAAAAAAAAAAAAAAAAAA';
    await expectError(await erase(unknown, undefined, ADMIN_KEY), 404, 'CLIENT_NOT_FOUND');
    expect(await count('client_erasures', 'client_id = ?', unknown)).toBe(0);
  });
});
