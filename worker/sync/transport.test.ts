import { describe, expect, it } from 'vitest';
import type { Event } from '../../protocol/events.ts';
import type { OutboxRow } from '../db.ts';
import { EdgeClient, GZIP_THRESHOLD } from '../edge-client.ts';
import { detectSyncPlatform, type LockManagerLike } from '../env.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { ENDPOINT, pixels, publishTinyModel, startWorker } from '../test/harness.ts';
import { takeBatch } from './sync.ts';

const row = (seq: number, padding: number): OutboxRow => {
  const id = `00000000-0000-4000-8000-${seq.toString().padStart(12, '0')}`;
  return { seq, state: 'pending', event: prediction(id, seq, padding) };
};

const prediction = (id: string, seq: number, padding: number): Event =>
  ({
    id,
    seq,
    ts: 1,
    type: 'prediction',
    model: 'digits',
    version: 1,
    predictionId: id,
    outputs: Array.from({ length: padding }, () => 0.123456789),
  }) as Event;

/** A Web Locks fake: `held` names are taken by "another tab". */
function fakeLocks(held: Set<string>): LockManagerLike & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    request: async (name, options, run) => {
      asked.push(name);
      if (held.has(name) && options.ifAvailable) return run(null);
      return run({ name });
    },
  };
}

describe('sync transport', () => {
  it('splits batches by bytes as well as by count, always taking at least one', () => {
    const rows = Array.from({ length: 10 }, (_, i) => row(i + 1, 1000)); // ~12 KB of JSON each
    const size = JSON.stringify(rows[0]?.event).length + 1;
    expect(takeBatch(rows, size * 3).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(takeBatch(rows, 10).map((r) => r.seq)).toEqual([1]);
    expect(takeBatch(rows, 1e9)).toHaveLength(10);
  });

  it('sends a large outbox in byte-bounded, gzip-compressed batches that decode to the same events', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const gzip = detectSyncPlatform().gzip;
    expect(gzip).not.toBeNull();
    const { api, db } = await startWorker({ edge, deps: { platform: { gzip } } });
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels(0));
    // Big events (as with shared features): 60 of ~12 KB JSON do not fit 256 KiB together.
    const big = db();
    await big.outbox.clear();
    const padded = Array.from({ length: 60 }, (_, i) => row(i + 1, 1000));
    await big.outbox.bulkAdd(padded);
    await big.meta.put({ key: 'nextSeq', value: 61 });
    big.close();

    expect(await api.sync()).toMatchObject({ sent: 60, accepted: 60, pending: 0 });
    const posts = edge.requests.filter((r) => r.path === '/v1/events');
    expect(posts.length).toBeGreaterThan(1);
    expect(posts.every((p) => p.headers.get('content-encoding') === 'gzip')).toBe(true);
    // The fake edge gunzipped each body: together they are exactly the events, in order.
    const events = posts.flatMap((p) => (p.body as { events: Event[] }).events);
    expect(events).toEqual(padded.map((r) => r.event));
    for (const p of posts) {
      const json = JSON.stringify((p.body as { events: Event[] }).events).length;
      expect(json).toBeLessThanOrEqual(256 * 1024 + 2);
      expect(p.bytes).toBeLessThan(json / 4); // repetitive JSON compresses well
    }
    await api.dispose();
  });

  it('leaves small bodies uncompressed', async () => {
    const edge = new FakeEdge();
    const client = new EdgeClient(ENDPOINT, edge.key, edge.fetch, { gzip: detectSyncPlatform().gzip });
    await client.json('/v1/clients', (await import('../../protocol/clients.ts')).ClientIdentity, { v: 1 });
    const sent = edge.requests[0];
    expect(sent?.headers.get('content-encoding')).toBeNull();
    expect(sent?.bytes).toBeLessThan(GZIP_THRESHOLD);
  });

  it('syncs under a Web Lock; a tab without it reports the other tab’s progress', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const held = new Set<string>();
    const locks = fakeLocks(held);
    const { api } = await startWorker({ edge, deps: { platform: { locks } } });
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels(1));
    const mine = await api.sync();
    expect(mine).toMatchObject({ sent: 1, pending: 0 });
    expect(mine.otherTab).toBeUndefined();
    expect(locks.asked).toContain('edgeloop-sync:edgeloop-test');

    await api.predict(pixels(2));
    held.add('edgeloop-sync:edgeloop-test');
    const other = await api.sync();
    expect(other).toMatchObject({ otherTab: true, sent: 1, at: mine.at, pending: 1 });
    expect(edge.requests.filter((r) => r.path === '/v1/events')).toHaveLength(1);
    expect((await api.status()).sync.state).toBe('other-tab');
    await api.dispose();
  });

  it('falls back to an expiring IndexedDB lease without Web Locks', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api, db, clock } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels(1));
    const other = db();
    await other.meta.put({ key: 'syncLease', value: { owner: 'other-tab', expiresAt: clock.now() + 60_000 } });
    expect(await api.sync()).toMatchObject({ otherTab: true, pending: 1 });
    // The other tab died: its lease expires and this tab syncs, then releases its own.
    await other.meta.put({ key: 'syncLease', value: { owner: 'other-tab', expiresAt: clock.now() - 1 } });
    expect(await api.sync()).toMatchObject({ sent: 1, pending: 0 });
    expect(await other.meta.get('syncLease')).toBeUndefined();
    other.close();
    await api.dispose();
  });
});
