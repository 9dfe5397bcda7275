import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { IndexedDbSource } from '../db.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );

/** Names of the databases the fake IndexedDB holds. */
async function databases(storage: IndexedDbSource): Promise<string[]> {
  return ((await (storage.indexedDB as IDBFactory).databases()) ?? []).map((d) => d.name ?? '');
}

describe('erase', () => {
  it('has the edge erase the client, then deletes the database; later calls need a new init', async () => {
    const { api, edge, clientId, storage, db } = await startWorker();
    await publishTinyModel(edge);
    await api.load({ v: 1, model: 'digits' });
    const { predictionId } = await api.predict(pixels());
    await api.feedback(predictionId, 3);
    await api.sync();
    await api.predict(pixels()); // recorded, never sent: it goes with the database
    expect(edge.events.size).toBe(2);
    if (!clientId) throw new Error('no client id');

    const result = await api.erase();
    expect(result).toMatchObject({
      v: 1,
      edge: { clientId, removed: { events: 2, registration: true } },
      device: { database: db().name, deleted: true },
    });
    expect(edge.events.size).toBe(0);
    expect(edge.clients.has(clientId)).toBe(false);
    expect(edge.requests.filter((r) => r.path === `/v1/clients/${clientId}/erase`)).toHaveLength(1);
    expect(await databases(storage)).not.toContain(db().name);
    expect((await failure(api.predict(pixels())))?.code).toBe('NOT_INITIALIZED');
  });

  it('touches nothing on the device when the edge cannot erase', async () => {
    const edge = new FakeEdge();
    let down = false;
    const fetch = (input: string, init?: RequestInit) =>
      down ? Promise.reject(new TypeError('fetch failed')) : edge.fetch(input, init);
    const { api, storage, db } = await startWorker({ edge, deps: { fetch } });
    await publishTinyModel(edge);
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels());
    down = true;
    expect((await failure(api.erase()))?.code).toBe('NETWORK');
    expect(await databases(storage)).toContain(db().name);
    expect((await api.status()).pending).toBe(1);
    down = false;
    expect((await api.erase()).edge?.removed.registration).toBe(true);
  });

  it('erases only the device when it never registered (the edge holds nothing of it)', async () => {
    const { api, edge, storage, db } = await startWorker({ deps: { platform: { online: () => false } } });
    expect(edge.clients.size).toBe(0);
    const result = await api.erase();
    expect(result).toEqual({ v: 1, edge: null, device: { database: db().name, deleted: true } });
    expect(await databases(storage)).not.toContain(db().name);
  });
});
