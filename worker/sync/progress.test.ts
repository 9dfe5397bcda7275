import { describe, expect, it, vi } from 'vitest';
import type { SyncBroadcast } from '../../protocol/worker-api.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';
import { LEASE_MS } from './lock.ts';
import { SyncProgress } from './progress.ts';

const broadcast = (name: string) => new BroadcastChannel(name);

/** Every report posted on `db`'s sync topic, in order. */
function listen(db: string): { reports: SyncBroadcast[]; close(): void } {
  const channel = new BroadcastChannel(`edgeloop-sync:${db}`);
  const reports: SyncBroadcast[] = [];
  channel.addEventListener('message', ({ data }) => reports.push(data as SyncBroadcast));
  return { reports, close: () => channel.close() };
}

describe('sync progress across contexts', () => {
  it("shows another context's live sync, forgets it when it ends or goes quiet, and ignores junk", async () => {
    let now = 1_000;
    const a = new SyncProgress({ broadcast }, 'p1', 'tab-a', () => now);
    const b = new SyncProgress({ broadcast }, 'p1', 'tab-b', () => now);
    const junk = new BroadcastChannel('edgeloop-sync:p1');
    expect(b.view()).toBeUndefined();
    a.started(250);
    a.batch(100);
    expect(a.view()).toEqual({ sent: 100, total: 250, by: 'this-tab' });
    await vi.waitFor(() => expect(b.view()).toEqual({ sent: 100, total: 250, by: 'other-tab' }));
    junk.postMessage({ v: 1, from: 'x', phase: 'batch', sent: 'lots' });
    a.batch(100);
    await vi.waitFor(() => expect(b.view()).toEqual({ sent: 200, total: 250, by: 'other-tab' }));
    // A context that went quiet longer than a lease is taken for dead.
    now += LEASE_MS + 1;
    expect(b.view()).toBeUndefined();
    a.batch(50);
    await vi.waitFor(() => expect(b.view()).toEqual({ sent: 250, total: 250, by: 'other-tab' }));
    a.ended(null);
    await vi.waitFor(() => expect(b.view()).toBeUndefined());
    expect(a.view()).toBeUndefined();
    for (const c of [a, b]) c.close();
    junk.close();
  });

  it('reports a multi-batch sync batch by batch, and a failed one as retryable', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const worker = await startWorker({ edge, init: { dbName: 'p2' }, deps: { platform: { broadcast } } });
    await worker.api.load({ v: 1, model: 'digits' });
    for (let i = 0; i < 230; i++) await worker.api.predict(pixels(i));
    const seen = listen('p2');
    await worker.api.sync();
    await vi.waitFor(() => expect(seen.reports.at(-1)?.phase).toBe('done'));
    expect(seen.reports.map(({ phase, sent, total }) => [phase, sent, total])).toEqual([
      ['started', 0, 230],
      ['batch', 100, 230],
      ['batch', 200, 230],
      ['batch', 230, 230],
      ['done', 230, 230],
    ]);
    expect(new Set(seen.reports.map((r) => r.from)).size).toBe(1);

    await worker.api.predict(pixels(0));
    edge.eventsFailures = ['network'];
    await expect(worker.api.sync()).rejects.toMatchObject({ code: 'NETWORK' });
    await vi.waitFor(() => expect(seen.reports.at(-1)).toMatchObject({ phase: 'failed', retryable: true }));
    seen.close();
    await worker.api.dispose();
  });

  it("puts another tab's running sync in status()", async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const tab = await startWorker({ edge, init: { dbName: 'p3' }, deps: { platform: { broadcast } } });
    const other = new SyncProgress({ broadcast }, 'p3', 'service-worker', Date.now);
    other.started(40);
    other.batch(25);
    await vi.waitFor(async () =>
      expect((await tab.api.status()).sync.progress).toEqual({ sent: 25, total: 40, by: 'other-tab' }),
    );
    other.ended(null);
    await vi.waitFor(async () => expect((await tab.api.status()).sync.progress).toBeUndefined());
    other.close();
    await tab.api.dispose();
  });
});
