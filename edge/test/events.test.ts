import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CLIENT_TOKEN_HEADER, type ClientIdentity } from '../../protocol/clients.ts';
import { ADMIN_KEY, api, CLIENT_KEY, count, expectError, makeKey, registerClient, sendAsClient } from './helpers.ts';

function prediction(n: number) {
  const id = crypto.randomUUID();
  return {
    id,
    seq: n,
    type: 'prediction',
    ts: 1764331200000 + n,
    model: 'digits',
    version: 1,
    predictionId: id,
    outputs: [0.1, 0.9],
  };
}

function feedback(n: number, predictionId: string) {
  return {
    id: crypto.randomUUID(),
    seq: n,
    type: 'feedback',
    ts: 1764331200000 + n,
    model: 'digits',
    version: 1,
    predictionId,
    label: 7,
  };
}

/** A freshly registered client, so each test sees only its own events. */
const newClient = (nextSeq?: number) => registerClient(nextSeq);

const batchOf = (client: ClientIdentity | string, events: unknown[]) => ({
  v: 1,
  clientId: typeof client === 'string' ? client : client.clientId,
  batchId: `b-${crypto.randomUUID()}`,
  events,
});

/** Posts `body` with the token of `client` (the batch's client unless another is given). */
const post = (client: ClientIdentity, body: unknown, key = CLIENT_KEY) =>
  sendAsClient('POST', '/v1/events', body, client.token, key);

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('POST /v1/events', () => {
  it('accepts a batch and records the client', async () => {
    const client = await newClient();
    const { clientId } = client;
    const p = prediction(1);
    const res = await post(client, batchOf(clientId, [p, feedback(2, p.id)]));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect(await count('events', 'client_id = ?', clientId)).toBe(2);
    const stored = await env.DB.prepare(
      'SELECT type, prediction_id, payload FROM events WHERE client_id = ? AND seq = 2',
    )
      .bind(clientId)
      .first<{ type: string; prediction_id: string; payload: string }>();
    expect(stored?.type).toBe('feedback');
    expect(stored?.prediction_id).toBe(p.id);
    expect(JSON.parse(stored?.payload ?? '{}')).toMatchObject({ label: 7 });
    const row = await env.DB.prepare('SELECT max_seq FROM clients WHERE client_id = ?').bind(clientId).first();
    expect(row).toEqual({ max_seq: 2 });
  });

  it('counts a retried batch as duplicates and stores nothing twice', async () => {
    const client = await newClient();
    const { clientId } = client;
    const batch = batchOf(clientId, [prediction(1), prediction(2), prediction(3)]);
    expect(await (await post(client, batch)).json()).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    expect(await (await post(client, batch)).json()).toEqual({ accepted: 0, duplicates: 3, rejected: [] });
    expect(await count('events', 'client_id = ?', clientId)).toBe(3);

    const info = await api(`/v1/clients/${clientId}`, { key: ADMIN_KEY });
    expect(await info.json()).toMatchObject({ clientId, maxSeq: 3, counts: { prediction: 3, feedback: 0 } });
  });

  it('counts an event repeated in another batch once', async () => {
    const client = await newClient();
    const { clientId } = client;
    const p1 = prediction(1);
    await post(client, batchOf(clientId, [p1]));
    const res = await post(client, batchOf(clientId, [p1, prediction(2)]));
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
    expect(await count('events', 'client_id = ?', clientId)).toBe(2);
  });

  it('rejects invalid events by index and applies the rest', async () => {
    const client = await newClient();
    const { clientId } = client;
    const bad = { ...prediction(2), outputs: 'nope' };
    const mismatched = { ...prediction(4), predictionId: crypto.randomUUID() };
    const res = await post(
      client,
      batchOf(clientId, [prediction(1), bad, prediction(3), mismatched, { type: 'click', seq: 5 }]),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      accepted: number;
      duplicates: number;
      rejected: { index: number; code: string; message: string }[];
    };
    expect(body.accepted).toBe(2);
    expect(body.duplicates).toBe(0);
    expect(body.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'INVALID_EVENT'],
      [3, 'INVALID_EVENT'],
      [4, 'INVALID_EVENT'],
    ]);
    expect(body.rejected[0]?.message).toContain('outputs');
    expect(body.rejected[1]?.message).toContain('predictionId');
    expect(body.rejected[2]?.message).toContain('type');
    expect(await count('events', 'client_id = ?', clientId)).toBe(2);
  });

  it('takes a feedback event with a class label or a regression value, not both, not neither', async () => {
    const client = await newClient();
    const { clientId } = client;
    const p = prediction(1);
    const { label: _label, ...unlabelled } = feedback(2, p.id);
    const valued = { ...unlabelled, value: 12.5 };
    const both = { ...feedback(4, p.id), id: crypto.randomUUID(), value: 3 };
    const neither = { ...unlabelled, seq: 5, id: crypto.randomUUID() };
    const res = await post(client, batchOf(clientId, [p, valued, feedback(3, p.id), both, neither]));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      accepted: number;
      rejected: { index: number; code: string; message: string }[];
    };
    expect(body.accepted).toBe(3);
    expect(body.rejected.map((r) => [r.index, r.code])).toEqual([
      [3, 'INVALID_EVENT'],
      [4, 'INVALID_EVENT'],
    ]);
    expect(body.rejected[0]?.message).toContain('a label or a value, not both');
    const stored = await env.DB.prepare(
      "SELECT payload FROM events WHERE client_id = ? AND type = 'feedback' ORDER BY seq",
    )
      .bind(clientId)
      .all<{ payload: string }>();
    expect(stored.results.map((r) => JSON.parse(r.payload) as { label?: number; value?: number })).toMatchObject([
      { value: 12.5 },
      { label: 7 },
    ]);
  });

  it('accepts a gzip-encoded body', async () => {
    const client = await newClient();
    const { clientId } = client;
    const body = await gzip(JSON.stringify(batchOf(clientId, [prediction(1), prediction(2)])));
    const res = await api('/v1/events', {
      method: 'POST',
      key: CLIENT_KEY,
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', [CLIENT_TOKEN_HEADER]: client.token },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect(await count('events', 'client_id = ?', clientId)).toBe(2);
  });
});

describe('POST /v1/events refusals write nothing', () => {
  async function expectRefused(send: () => Promise<Response>, status: number, code: string): Promise<string> {
    const before = { events: await count('events'), clients: await count('clients') };
    const message = await expectError(await send(), status, code);
    expect({ events: await count('events'), clients: await count('clients') }).toEqual(before);
    return message;
  }

  it('refuses bad JSON', async () => {
    const send = () =>
      api('/v1/events', {
        method: 'POST',
        key: CLIENT_KEY,
        headers: { 'Content-Type': 'application/json' },
        body: '{"v":1,',
      });
    await expectRefused(send, 400, 'INVALID_BODY');
  });

  it('refuses a wrong protocol version or a bad client id, naming the field', async () => {
    const client = await newClient();
    const { clientId } = client;
    expect(
      await expectRefused(() => post(client, { ...batchOf(clientId, [prediction(1)]), v: 2 }), 400, 'INVALID_BODY'),
    ).toMatch(/^v: /);
    expect(await expectRefused(() => post(client, batchOf('short', [prediction(1)])), 400, 'INVALID_BODY')).toContain(
      'clientId',
    );
    expect(await count('events', 'client_id = ?', clientId)).toBe(0);
  });

  it('refuses more than 500 events', async () => {
    const client = await newClient();
    const { clientId } = client;
    const events = Array.from({ length: 501 }, (_, i) => prediction(i + 1));
    expect(await expectRefused(() => post(client, batchOf(clientId, events)), 400, 'INVALID_BODY')).toContain('events');
    expect(await count('events', 'client_id = ?', clientId)).toBe(0);
  });

  it('refuses a body that is not application/json with 415', async () => {
    const client = await newClient();
    const send = () =>
      api('/v1/events', {
        method: 'POST',
        key: CLIENT_KEY,
        headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify(batchOf(client, [prediction(1)])),
      });
    await expectRefused(send, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses an unsupported content-encoding with 415 and corrupt gzip with 400', async () => {
    const headers = { 'Content-Type': 'application/json', 'Content-Encoding': 'br' };
    await expectRefused(
      () => api('/v1/events', { method: 'POST', key: CLIENT_KEY, headers, body: '{}' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const gz = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' };
    await expectRefused(
      () => api('/v1/events', { method: 'POST', key: CLIENT_KEY, headers: gz, body: 'not gzip' }),
      400,
      'BAD_REQUEST',
    );
  });

  it('refuses a gzip body that inflates past the limit with 413', async () => {
    const huge = await gzip(`{"v":1,"pad":"${'a'.repeat(6 * 1024 * 1024)}"}`);
    expect(huge.byteLength).toBeLessThan(100_000);
    const headers = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' };
    await expectRefused(
      () => api('/v1/events', { method: 'POST', key: CLIENT_KEY, headers, body: huge }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('refuses posting without a client-capable key', async () => {
    const reader = await makeKey('read');
    const client = await newClient();
    await expectRefused(() => post(client, batchOf(client, [prediction(1)]), reader.key), 403, 'FORBIDDEN');
    await expectRefused(() => post(client, batchOf(client, [prediction(1)]), 'wrong'), 401, 'UNAUTHORIZED');
  });
});

describe('GET /v1/clients/{clientId}', () => {
  it('reports the highest seq, last seen and counts by type', async () => {
    const client = await newClient();
    const { clientId } = client;
    const p1 = prediction(1);
    const p2 = prediction(2);
    const started = Date.now();
    await post(client, batchOf(clientId, [p1, p2, feedback(3, p1.id)]));
    await post(client, batchOf(clientId, [feedback(4, p2.id)]));
    const res = await api(`/v1/clients/${clientId}`, { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    const info = (await res.json()) as {
      clientId: string;
      maxSeq: number;
      lastSeen: number;
      counts: Record<string, number>;
    };
    expect(info).toMatchObject({ clientId, maxSeq: 4, counts: { prediction: 2, feedback: 2 } });
    expect(info.lastSeen).toBeGreaterThanOrEqual(started);
  });

  it('answers CLIENT_NOT_FOUND for a client that never posted, and needs a read key', async () => {
    await expectError(await api('/v1/clients/never-seen-client', { key: ADMIN_KEY }), 404, 'CLIENT_NOT_FOUND');
    await expectError(await api('/v1/clients/never-seen-client', { key: CLIENT_KEY }), 403, 'FORBIDDEN');
    await expectError(await api('/v1/clients/bad', { key: ADMIN_KEY }), 400, 'INVALID_NAME');
  });
});
