import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';

const offline = { online: () => false };

describe('client identity', () => {
  it('registers once, stores the token and sends it on every write', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api, clientId, db } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels(1));
    await api.sync();
    await api.sync();
    expect(edge.count('/v1/clients', 'POST')).toBe(1);
    expect(edge.requests.find((r) => r.path === '/v1/clients')?.body).toEqual({ v: 1, nextSeq: 1 });
    const { token } = edge.clients.get(clientId as string) ?? {};
    const writes = edge.requests.filter((r) => r.method === 'POST' && r.path !== '/v1/clients');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((r) => r.headers.get(CLIENT_TOKEN_HEADER) === token)).toBe(true);
    expect(edge.requests.find((r) => r.path.includes('/resolve'))?.path).toContain(`client=${clientId}`);
    expect(await db().meta.get('identity')).toMatchObject({ value: { clientId, token } });
    await api.dispose();
  });

  it('starts offline without an id, predicts offline, and registers when it next reaches the edge', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api, clientId } = await startWorker({ edge, deps: { platform: offline } });
    expect(clientId).toBeNull();
    expect((await api.status()).clientId).toBeNull();
    expect(edge.count('/v1/clients', 'POST')).toBe(0);
    await api.load({ v: 1, model: 'digits' }); // load registers (it needs the network anyway)
    expect((await api.status()).clientId).toMatch(/^c_fake_/);
    await api.predict(pixels(1));
    expect(await api.sync()).toMatchObject({ sent: 1, accepted: 1 });
    expect(edge.count('/v1/clients', 'POST')).toBe(1);
    await api.dispose();
  });

  it('registers a legacy database (own id, no token) with its first pending seq', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const storage = { indexedDB: new IDBFactory(), IDBKeyRange };
    // A device from before registration: seqs 1–3 recorded, 1–2 acknowledged under its own id.
    const first = await startWorker({ edge, storage, deps: { platform: offline } });
    const legacy = first.db();
    await legacy.meta.delete('identity');
    await first.api.dispose();
    edge.clients.clear();
    const event = (seq: number) => ({
      id: crypto.randomUUID(),
      seq,
      ts: 1,
      type: 'prediction' as const,
      model: 'digits',
      version: 1,
      predictionId: crypto.randomUUID(),
      outputs: [0.5, 0.5],
    });
    for (const e of [event(1), event(2), event(3)]) {
      const fixed = { ...e, predictionId: e.id };
      await legacy.outbox.add({ seq: e.seq, event: fixed, state: e.seq < 3 ? 'sent' : 'pending' });
    }
    await legacy.meta.bulkPut([
      { key: 'clientId', value: 'c_old_client' },
      { key: 'nextSeq', value: 4 },
    ]);
    legacy.close();

    const upgraded = await startWorker({ edge, storage });
    expect(upgraded.clientId).toMatch(/^c_fake_/);
    expect(edge.requests.filter((r) => r.path === '/v1/clients').at(-1)?.body).toEqual({ v: 1, nextSeq: 3 });
    expect(await upgraded.api.sync()).toMatchObject({ sent: 1, accepted: 1, pending: 0 });
    const batch = edge.requests.find((r) => r.path === '/v1/events')?.body as {
      clientId: string;
      events: { seq: number }[];
    };
    expect(batch.clientId).toBe(upgraded.clientId);
    expect(batch.events.map((e) => e.seq)).toEqual([3]);
    await upgraded.api.dispose();
  });

  it('stops on SEQ_GAP, keeps the items and reports it in status', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api, clientId, clock } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    for (let i = 0; i < 3; i++) await api.predict(pixels(i));
    const client = edge.clients.get(clientId as string);
    if (client) client.maxSeq = -5; // the edge expects seq -4: it and the device disagree
    const gap = await api.sync().catch((e: unknown) => EdgeloopError.from(e));
    expect(gap).toMatchObject({ code: 'SEQ_GAP' });
    const status = await api.status();
    expect(status.pending).toBe(3);
    expect(status.sync).toMatchObject({ state: 'idle', lastError: { code: 'SEQ_GAP' } });
    expect(status.sync.lastError?.message).toMatch(/expected seq -4/);
    expect(clock.pending()).toEqual([]);
    await api.dispose();
  });

  it('retries a 503 after its Retry-After and a 429 after its own, then succeeds', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api, clock } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels(1));
    edge.eventsFailures = [
      { status: 503, code: 'INTERNAL', retryAfter: '10' },
      { status: 429, code: 'RATE_LIMITED', retryAfter: '20' },
    ];
    await expect(api.sync()).rejects.toThrow(/HTTP 503/);
    const start = clock.now();
    expect((await api.status()).sync).toMatchObject({ state: 'waiting', attempts: 1, nextRetryAt: start + 10_000 });
    clock.advance(10_000);
    await vi.waitFor(async () =>
      expect((await api.status()).sync).toMatchObject({
        state: 'waiting',
        attempts: 2,
        lastError: { code: 'RATE_LIMITED' },
      }),
    );
    clock.advance(20_000);
    await vi.waitFor(async () =>
      expect(await api.status()).toMatchObject({ pending: 0, sync: { state: 'idle', attempts: 0 } }),
    );
    await api.dispose();
  });

  it('does not retry a 400 on its own', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api, clock } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels(1));
    edge.eventsFailures = [{ status: 400, code: 'INVALID_BODY' }];
    await expect(api.sync()).rejects.toThrow(/HTTP 400/);
    expect((await api.status()).sync).toMatchObject({ state: 'idle', lastError: { code: 'EDGE_ERROR' } });
    expect(clock.pending()).toEqual([]);
    await api.dispose();
  });
});
