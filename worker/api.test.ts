import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../protocol/errors.ts';
import { createWorkerApi } from './api.ts';
import { FakeEdge } from './test/fake-edge.ts';
import { pixels, startWorker } from './test/harness.ts';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );
const fresh = () =>
  createWorkerApi({ fetch: new FakeEdge().fetch, indexedDB: { indexedDB: new IDBFactory(), IDBKeyRange } });

describe('worker api', () => {
  it('throws NOT_INITIALIZED before init, except status', async () => {
    const api = fresh();
    const calls = [
      api.load({ v: 1, model: 'digits' }),
      api.predict(pixels()),
      api.feedback(crypto.randomUUID(), 1),
      api.train({ v: 1 }),
      api.sync(),
      api.benchmark(3),
    ];
    for (const call of calls) expect((await failure(call))?.code).toBe('NOT_INITIALIZED');
    expect(await api.status()).toEqual({
      v: 1,
      clientId: null,
      model: null,
      backend: null,
      pending: 0,
      lastSync: null,
      sync: { state: 'idle', attempts: 0 },
      storage: { persisted: null, dropped: { outbox: 0, inputs: 0 } },
      federated: { enabled: false, lastRound: null },
    });
  });

  it('validates init options, naming the field', async () => {
    const api = fresh();
    const bad = await failure(api.init({ v: 1, endpoint: 'not a url', key: 'k' }));
    expect(bad?.code).toBe('INVALID_INPUT');
    expect(bad?.message).toMatch(/options\.endpoint/);
    const extra = await failure(api.init({ v: 1, endpoint: 'http://x', key: 'k', colour: 'red' } as never));
    expect(extra?.message).toMatch(/options\.colour/);
    expect(
      (await failure(api.init({ v: 1, endpoint: 'http://x', key: 'k', backend: 'tpu' as never })))?.message,
    ).toMatch(/options\.backend/);
  });

  it('takes the client id the edge issues at init, matching the protocol pattern', async () => {
    const { api, clientId, edge } = await startWorker();
    expect(clientId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(edge.clients.has(clientId as string)).toBe(true);
    expect((await api.status()).clientId).toBe(clientId);
    await api.dispose();
  });

  it('throws MODEL_NOT_LOADED before load, and validates the other inputs', async () => {
    const { api } = await startWorker();
    expect((await failure(api.predict(pixels())))?.code).toBe('MODEL_NOT_LOADED');
    expect((await failure(api.benchmark(3)))?.code).toBe('MODEL_NOT_LOADED');
    expect((await failure(api.train({ v: 1 })))?.code).toBe('MODEL_NOT_LOADED');
    expect(String(await failure(api.load({ v: 1, model: 'Not A Name' })))).toMatch(/INVALID_INPUT\] options\.model/);
    expect((await failure(api.train({ v: 1, epochs: 0 })))?.message).toMatch(/options\.epochs/);
    expect(String(await failure(api.benchmark(0)))).toMatch(/INVALID_INPUT\] iterations/);
    expect(await api.status()).toMatchObject({ model: null, backend: 'cpu', pending: 0 });
    await api.dispose();
  });

  it('throws BACKEND_UNAVAILABLE at init for an explicit backend that cannot run', async () => {
    const api = fresh();
    const error = await failure(api.init({ v: 1, endpoint: 'http://x', key: 'k', backend: 'webgpu' }));
    expect(error?.code).toBe('BACKEND_UNAVAILABLE');
    expect(error?.message).toContain('navigator.gpu');
  });
});
