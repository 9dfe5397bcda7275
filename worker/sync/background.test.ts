import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';
import { answerBackgroundSync, type SyncEventLike, syncInBackground } from './background.ts';

const platform = { locks: null, storage: null, gzip: null, broadcast: null };

/** A database whose worker recorded `count` predictions and then closed (the tab is gone). */
async function leftBehind(count: number, dbName: string) {
  const edge = new FakeEdge();
  await publishTinyModel(edge);
  const worker = await startWorker({ edge, init: { dbName } });
  await worker.api.load({ v: 1, model: 'digits' });
  for (let i = 0; i < count; i++) await worker.api.predict(pixels(i));
  await worker.api.dispose();
  return { edge, storage: worker.storage, clientId: worker.clientId };
}

/** A service worker scope that records its `sync` listener. */
function scope() {
  let listener: (event: SyncEventLike) => void = () => undefined;
  return {
    addEventListener: (_type: 'sync', l: (event: SyncEventLike) => void) => {
      listener = l;
    },
    /** Dispatches a sync event; resolves with what its waitUntil work did. */
    fire: async (tag: string): Promise<'none' | 'resolved' | 'rejected'> => {
      const work: Promise<unknown>[] = [];
      listener({ tag, waitUntil: (p) => work.push(p) });
      const [first] = work;
      if (!first) return 'none';
      return first.then(
        () => 'resolved',
        () => 'rejected',
      );
    },
  };
}

describe('Background Sync in a service worker', () => {
  it('sends what a closed tab left, as that client, with the options its worker stored', async () => {
    const { edge, storage, clientId } = await leftBehind(7, 'bg1');
    const result = await syncInBackground('bg1', { fetch: edge.fetch, indexedDB: storage, platform });
    expect(result).toMatchObject({ sent: 7, accepted: 7, duplicates: 0, pending: 0 });
    expect(edge.events.size).toBe(7);
    expect(new Set([...edge.events.values()].map((e) => e.seq))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7]));
    const bodies = edge.requests.filter((r) => r.path === '/v1/events').map((r) => r.body as { clientId: string });
    expect(bodies.every((b) => b.clientId === clientId)).toBe(true);
    // Nothing is left: a second background sync sends nothing.
    expect(await syncInBackground('bg1', { fetch: edge.fetch, indexedDB: storage, platform })).toMatchObject({
      sent: 0,
      pending: 0,
    });
  });

  it('does nothing for a database no worker initialised', async () => {
    const edge = new FakeEdge();
    const storage = { indexedDB: new IDBFactory(), IDBKeyRange };
    expect(await syncInBackground('never', { fetch: edge.fetch, indexedDB: storage, platform })).toBeNull();
    expect(edge.requests).toEqual([]);
  });

  it('answers only its tags, rejects a retryable failure (the browser retries) and resolves the others', async () => {
    const { edge, storage } = await leftBehind(2, 'bg2');
    const sw = scope();
    answerBackgroundSync(sw, { fetch: edge.fetch, indexedDB: storage, platform });
    expect(await sw.fire('some-other-tag')).toBe('none');
    edge.eventsFailures = ['network'];
    expect(await sw.fire('edgeloop-sync:bg2')).toBe('rejected');
    expect(edge.events.size).toBe(0);
    edge.revoke([...edge.clients.keys()][0] ?? '');
    expect(await sw.fire('edgeloop-sync:bg2')).toBe('resolved');
    expect(edge.events.size).toBe(0);
  });

  it('reports a refused client as an error, not as a result', async () => {
    const { edge, storage } = await leftBehind(1, 'bg3');
    edge.revoke([...edge.clients.keys()][0] ?? '');
    const failed = await syncInBackground('bg3', { fetch: edge.fetch, indexedDB: storage, platform }).catch(
      (e: unknown) => EdgeloopError.from(e),
    );
    expect(failed).toMatchObject({ code: 'CLIENT_REVOKED' });
  });
});
