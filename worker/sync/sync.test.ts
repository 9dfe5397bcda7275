import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';

async function workerWithPredictions(count: number, edge = new FakeEdge()) {
  await publishTinyModel(edge);
  const worker = await startWorker({ edge });
  await worker.api.load({ v: 1, model: 'digits' });
  for (let i = 0; i < count; i++) await worker.api.predict(pixels(i));
  return worker;
}

const posts = (edge: FakeEdge) => edge.requests.filter((r) => r.path === '/v1/events');

describe('sync', () => {
  it('sends pending events in seq order, in batches of at most 100, and marks them sent', async () => {
    const { api, edge, db, clientId } = await workerWithPredictions(0);
    const result0 = await api.sync();
    expect(result0).toMatchObject({ sent: 0, pending: 0 });
    expect(posts(edge)).toHaveLength(0);

    for (let i = 0; i < 230; i++) await api.predict(pixels(i));
    expect((await api.status()).pending).toBe(230);
    const result = await api.sync();
    expect(result).toMatchObject({ v: 1, sent: 230, accepted: 230, duplicates: 0, rejected: 0, pending: 0 });
    const bodies = posts(edge).map((r) => r.body as { clientId: string; batchId: string; events: { seq: number }[] });
    expect(bodies.map((b) => b.events.length)).toEqual([100, 100, 30]);
    expect(bodies.every((b) => b.clientId === clientId)).toBe(true);
    expect(bodies.flatMap((b) => b.events.map((e) => e.seq))).toEqual(Array.from({ length: 230 }, (_, i) => i + 1));
    expect(posts(edge)[0]?.body).toMatchObject({ v: 1, batchId: 'b_1_100' });
    expect(await db().outbox.where('state').equals('sent').count()).toBe(230);
    expect(edge.events.size).toBe(230);

    const status = await api.status();
    expect(status).toMatchObject({ pending: 0, lastSync: result });
    await api.dispose();
  });

  it('keeps everything pending when the post fails, and sends it on the next sync', async () => {
    const { api, edge } = await workerWithPredictions(3);
    edge.eventsFailures = ['network'];
    const offline = await api.sync().catch((e: unknown) => EdgeloopError.from(e));
    expect(offline).toMatchObject({ code: 'NETWORK' });
    expect((await api.status()).pending).toBe(3);

    edge.eventsFailures = [500];
    const down = await api.sync().catch((e: unknown) => EdgeloopError.from(e));
    expect(down).toMatchObject({ code: 'EDGE_ERROR' });
    expect((down as Error).message).toContain('INTERNAL');
    expect((await api.status()).pending).toBe(3);

    expect(await api.sync()).toMatchObject({ sent: 3, accepted: 3, pending: 0 });
    expect(edge.events.size).toBe(3);
    await api.dispose();
  });

  it('retries a batch whose reply was lost as the same batch, counted once on both sides', async () => {
    const { api, edge, db } = await workerWithPredictions(4);
    edge.eventsFailures = ['lost-reply'];
    await expect(api.sync()).rejects.toMatchObject({ code: 'NETWORK' });
    expect(edge.events.size).toBe(4);
    expect((await api.status()).pending).toBe(4);

    const retry = await api.sync();
    expect(retry).toMatchObject({ sent: 4, accepted: 0, duplicates: 4, pending: 0 });
    const batchIds = posts(edge).map((r) => (r.body as { batchId: string }).batchId);
    expect(batchIds).toEqual(['b_1_4', 'b_1_4']);
    expect(await db().outbox.count()).toBe(4);
    expect(edge.events.size).toBe(4);
    await api.dispose();
  });

  it('marks rejected events with the edge code and never resends them', async () => {
    const { api, edge, db } = await workerWithPredictions(3);
    const victim = (await db().outbox.get(2))?.event.id;
    edge.rejectEvent = (event) => (event.id === victim ? 'INVALID_EVENT' : null);

    expect(await api.sync()).toMatchObject({ sent: 3, accepted: 2, rejected: 1, pending: 0 });
    expect(await db().outbox.get(2)).toMatchObject({ state: 'rejected', rejection: { code: 'INVALID_EVENT' } });
    await api.predict(pixels(9));
    await api.sync();
    const resent = posts(edge)[1]?.body as { events: { seq: number }[] };
    expect(resent.events.map((e) => e.seq)).toEqual([4]);
    await api.dispose();
  });

  it('serialises concurrent syncs so no event is sent twice', async () => {
    const { api, edge } = await workerWithPredictions(5);
    const [a, b] = await Promise.all([api.sync(), api.sync()]);
    expect(a.sent + b.sent).toBe(5);
    expect(posts(edge)).toHaveLength(1);
    expect(edge.events.size).toBe(5);
    await api.dispose();
  });

  it('keeps events pending when the acknowledgement does not add up', async () => {
    const edge = new FakeEdge();
    const real = edge.fetch;
    Object.assign(edge, {
      fetch: async (url: string, init?: RequestInit) =>
        init?.method === 'POST' && url.endsWith('/v1/events')
          ? Response.json({ accepted: 1, duplicates: 0, rejected: [] })
          : real(url, init),
    });
    const { api } = await workerWithPredictions(2, edge);
    await expect(api.sync()).rejects.toMatchObject({
      code: 'EDGE_ERROR',
      message: expect.stringMatching(/does not account for the 2 events/),
    });
    expect((await api.status()).pending).toBe(2);
    await api.dispose();
  });
});
