import { env } from 'cloudflare:workers';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { ClientIdentity } from '../../protocol/clients.ts';
import { ClientId } from '../../protocol/names.ts';
import { ADMIN_KEY, api, CLIENT_KEY, count, expectError, registerClient, sendEvents, sendJson } from './helpers.ts';

function prediction(seq: number, id: string = crypto.randomUUID()) {
  return {
    id,
    seq,
    type: 'prediction',
    ts: 1764331200000 + seq,
    model: 'digits',
    version: 1,
    predictionId: id,
    outputs: [0.5],
  };
}

async function applied(client: ClientIdentity, events: unknown[]) {
  const res = await sendEvents(client, events);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { accepted: number; duplicates: number; rejected: { index: number; code: string }[] };
}

const maxSeq = async (clientId: string) =>
  (await env.DB.prepare('SELECT max_seq FROM clients WHERE client_id = ?').bind(clientId).first<{ max_seq: number }>())
    ?.max_seq;

/** Stored rows of a client (events and seqs consumed by rejected events). */
const stored = async (clientId: string) => ({
  events: await count('events', 'client_id = ?', clientId),
  rejected: await count('rejected_events', 'client_id = ?', clientId),
  maxSeq: await maxSeq(clientId),
});

describe('POST /v1/clients', () => {
  it('issues a client id and a token, and creates the client at nextSeq - 1', async () => {
    const res = await sendJson('POST', '/v1/clients', { v: 1 }, CLIENT_KEY);
    expect(res.status).toBe(201);
    const { clientId, token } = (await res.json()) as ClientIdentity;
    expect(clientId).toMatch(/^c_[A-Za-z0-9_-]{22}$/);
    expect(v.is(ClientId, clientId)).toBe(true);
    expect(token.startsWith(`${clientId}.`)).toBe(true);
    const info = await api(`/v1/clients/${clientId}`, { key: ADMIN_KEY });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ clientId, maxSeq: 0, counts: { prediction: 0, feedback: 0 } });

    const later = await registerClient(41);
    expect(await maxSeq(later.clientId)).toBe(40);
    expect(later.clientId).not.toBe(clientId);
  });

  it('refuses a bad registration body', async () => {
    const before = await count('clients');
    await expectError(await sendJson('POST', '/v1/clients', { v: 2 }, CLIENT_KEY), 400, 'INVALID_BODY');
    await expectError(await sendJson('POST', '/v1/clients', { v: 1, nextSeq: 0 }, CLIENT_KEY), 400, 'INVALID_BODY');
    expect(await count('clients')).toBe(before);
  });
});

describe('client tokens', () => {
  it('refuses a missing, forged or other client token with 401 and writes nothing', async () => {
    const me = await registerClient();
    const other = await registerClient();
    const body = { v: 1, clientId: me.clientId, batchId: 'b', events: [prediction(1)] };
    const send = (token?: string, key = CLIENT_KEY) =>
      api('/v1/events', {
        method: 'POST',
        key,
        headers: {
          'Content-Type': 'application/json',
          ...(token === undefined ? {} : { 'Edgeloop-Client-Token': token }),
        },
        body: JSON.stringify(body),
      });
    await expectError(await send(), 401, 'INVALID_CLIENT_TOKEN');
    await expectError(await send(`${me.clientId}.AAAA`), 401, 'INVALID_CLIENT_TOKEN');
    await expectError(await send('garbage'), 401, 'INVALID_CLIENT_TOKEN');
    expect(await expectError(await send(other.token), 401, 'INVALID_CLIENT_TOKEN')).toContain('another client');
    // Admin keys get no bypass.
    await expectError(await send(undefined, ADMIN_KEY), 401, 'INVALID_CLIENT_TOKEN');
    expect(await stored(me.clientId)).toEqual({ events: 0, rejected: 0, maxSeq: 0 });
    expect((await send(me.token, ADMIN_KEY)).status).toBe(200);
  });

  it('refuses a revoked client with 403 CLIENT_REVOKED, writing nothing', async () => {
    const client = await registerClient();
    await applied(client, [prediction(1)]);
    const revoke = await api(`/v1/clients/${client.clientId}/revoke`, { method: 'POST', key: ADMIN_KEY });
    expect(revoke.status).toBe(200);
    expect(await revoke.json()).toMatchObject({ clientId: client.clientId, revokedAt: expect.any(Number) });
    await expectError(await sendEvents(client, [prediction(2)]), 403, 'CLIENT_REVOKED');
    expect(await stored(client.clientId)).toEqual({ events: 1, rejected: 0, maxSeq: 1 });
    await expectError(
      await api('/v1/clients/c_neverregistered/revoke', { method: 'POST', key: ADMIN_KEY }),
      404,
      'CLIENT_NOT_FOUND',
    );
  });

  it('answers 500 INTERNAL naming the secret when EDGELOOP_TOKEN_SECRET is unset', async () => {
    const { default: worker } = await import('../src/index.ts');
    const { createExecutionContext } = await import('cloudflare:test');
    const request = new Request('https://edge.test/v1/clients', {
      method: 'POST',
      headers: { Authorization: `Bearer ${CLIENT_KEY}`, 'Content-Type': 'application/json' },
      body: '{"v":1}',
    });
    const before = await count('clients');
    const res = await worker.fetch(request, { ...env, EDGELOOP_TOKEN_SECRET: '' }, createExecutionContext());
    expect(await expectError(res, 500, 'INTERNAL')).toContain('EDGELOOP_TOKEN_SECRET');
    expect(await count('clients')).toBe(before);
  });
});

describe('sequence numbers', () => {
  it('refuses a gap with 409 SEQ_GAP naming the expected seq, writing nothing', async () => {
    const client = await registerClient();
    await applied(client, [prediction(1), prediction(2)]);
    const message = await expectError(await sendEvents(client, [prediction(4), prediction(5)]), 409, 'SEQ_GAP');
    expect(message).toContain('seq 3');
    expect(await stored(client.clientId)).toEqual({ events: 2, rejected: 0, maxSeq: 2 });
    // A hole inside the new events is a gap too.
    await expectError(await sendEvents(client, [prediction(3), prediction(5)]), 409, 'SEQ_GAP');
    expect(await stored(client.clientId)).toEqual({ events: 2, rejected: 0, maxSeq: 2 });
    expect((await applied(client, [prediction(3)])).accepted).toBe(1);
  });

  it('starts the gap check at the registered nextSeq', async () => {
    const client = await registerClient(10);
    expect(await expectError(await sendEvents(client, [prediction(11)]), 409, 'SEQ_GAP')).toContain('seq 10');
    expect(await applied(client, [prediction(10), prediction(11)])).toMatchObject({ accepted: 2, duplicates: 0 });
  });

  it('counts duplicates across batches and applies the new tail', async () => {
    const client = await registerClient();
    const events = [1, 2, 3, 4].map((seq) => prediction(seq));
    await applied(client, events.slice(0, 2));
    expect(await applied(client, events.slice(0, 3))).toEqual({ accepted: 1, duplicates: 2, rejected: [] });
    expect(await applied(client, [events[1], events[3]])).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
    expect(await applied(client, events)).toEqual({ accepted: 0, duplicates: 4, rejected: [] });
    expect(await stored(client.clientId)).toEqual({ events: 4, rejected: 0, maxSeq: 4 });
  });

  it('refuses a replay with altered content with 409 CONFLICT, writing nothing', async () => {
    const client = await registerClient();
    const first = prediction(1);
    await applied(client, [first]);
    const cases = [
      [{ ...first, outputs: [0.9] }, prediction(2)], // same seq and id, other payload
      [prediction(1), prediction(2)], // same seq, another event id
      [{ ...first, seq: 2, ts: first.ts }], // the applied event id at another seq
    ];
    for (const events of cases) {
      await expectError(await sendEvents(client, events), 409, 'CONFLICT');
      expect(await stored(client.clientId)).toEqual({ events: 1, rejected: 0, maxSeq: 1 });
    }
  });

  it('records invalid events so their seq is consumed, and a retry of them is a duplicate', async () => {
    const client = await registerClient();
    const bad = { ...prediction(2), outputs: 'nope' };
    const batch = [prediction(1), bad, prediction(3)];
    const first = await applied(client, batch);
    expect(first).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(first.rejected.map((r) => [r.index, r.code])).toEqual([[1, 'INVALID_EVENT']]);
    expect(await stored(client.clientId)).toEqual({ events: 2, rejected: 1, maxSeq: 3 });
    // The client never resends seq 2; the next batch continues at 4.
    expect((await applied(client, [prediction(4)])).accepted).toBe(1);
    // Retrying the first batch changes nothing; altering the rejected event conflicts.
    expect(await applied(client, batch)).toMatchObject({ accepted: 0, duplicates: 2 });
    await expectError(await sendEvents(client, [{ ...bad, outputs: 'other' }]), 409, 'CONFLICT');
    expect(await stored(client.clientId)).toEqual({ events: 3, rejected: 1, maxSeq: 4 });
  });

  it('refuses a batch with an event without a readable seq, or a seq twice, with 400', async () => {
    const client = await registerClient();
    for (const events of [
      [prediction(1), { type: 'click' }],
      [prediction(1), prediction(1)],
      [{ ...prediction(1), seq: 1.5 }],
    ]) {
      expect(await expectError(await sendEvents(client, events), 400, 'INVALID_BODY')).toContain('seq');
    }
    expect(await stored(client.clientId)).toEqual({ events: 0, rejected: 0, maxSeq: 0 });
  });

  it('keeps the order when two batches of one client race', async () => {
    const client = await registerClient();
    const events = Array.from({ length: 6 }, (_, i) => prediction(i + 1));
    const [a, b] = await Promise.all([sendEvents(client, events.slice(0, 3)), sendEvents(client, events.slice(3))]);
    // Either the tail came second (both applied) or first (a gap, nothing of it written).
    const statuses = [a.status, b.status];
    expect(a.status).toBe(200);
    if (b.status !== 200) {
      expect(b.status).toBe(409);
      expect(await stored(client.clientId)).toEqual({ events: 3, rejected: 0, maxSeq: 3 });
    } else expect(await stored(client.clientId)).toEqual({ events: 6, rejected: 0, maxSeq: 6 });
    expect(statuses).toContain(200);
  });
});
