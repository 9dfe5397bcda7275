import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';

async function worker(maxStoredItems = 100_000, usage = { usage: 10, quota: 100 }) {
  const edge = new FakeEdge();
  await publishTinyModel(edge);
  const estimate = { ...usage };
  const storage = { persist: async () => true, estimate: async () => estimate };
  const started = await startWorker({ edge, init: { maxStoredItems }, deps: { platform: { storage } } });
  await started.api.load({ v: 1, model: 'digits' });
  return { ...started, estimate };
}

describe('retention', () => {
  it('asks for persistence once, and above the quota threshold drops implicit signals, never labels', async () => {
    const { api, db, estimate } = await worker();
    const made = [];
    for (let i = 0; i < 6; i++) made.push(await api.predict(pixels(i)));
    await api.feedback(made[0]?.predictionId as string, 3); // a label: its input stays
    await api.sync(); // everything acknowledged; 10% used: nothing dropped
    expect((await api.status()).storage).toEqual({
      persisted: true,
      usage: 10,
      quota: 100,
      dropped: { outbox: 0, inputs: 0 },
    });
    await api.feedback(made[1]?.predictionId as string, 4); // pending label
    estimate.usage = 90;
    await api.sync(); // sends the label, then retention runs
    const { storage } = await api.status();
    // 8 acknowledged events dropped; inputs of the older half of the 4 unlabelled sent predictions.
    expect(storage.dropped).toEqual({ outbox: 8, inputs: 2 });
    const look = db();
    expect(await look.feedback.count()).toBe(2);
    const kept = await look.predictions.toArray();
    const byId = new Map(kept.map((p) => [p.id, p.input.length]));
    expect(byId.get(made[0]?.predictionId as string)).toBe(784);
    expect(byId.get(made[1]?.predictionId as string)).toBe(784);
    expect(kept.filter((p) => p.input.length === 0)).toHaveLength(2);
    look.close();
    await api.dispose();
  });

  it('keeps pending events under the item cap, trimming acknowledged ones first', async () => {
    const { api, db } = await worker(100);
    for (let i = 0; i < 60; i++) await api.predict(pixels(i));
    await api.sync(); // 60 outbox rows + 60 inputs = 120 > 100: trim to 90
    for (let i = 0; i < 5; i++) await api.predict(pixels(i));
    const { storage, pending } = await api.status();
    expect(storage.dropped).toEqual({ outbox: 30, inputs: 0 });
    expect(pending).toBe(5);
    expect(await db().outbox.where('state').equals('pending').count()).toBe(5);
    await api.dispose();
  });

  it('on QuotaExceededError runs retention and retries the write once; a second failure is STORAGE', async () => {
    const { api, db } = await worker();
    for (let i = 0; i < 4; i++) await api.predict(pixels(i));
    await api.sync();
    const quota = () => new Dexie.AbortError('aborted', new DOMException('full', 'QuotaExceededError'));
    // Fail the next prediction write once: the transaction rolls back, retention runs, the retry succeeds.
    const look = db();
    let failures = 1;
    const { EdgeloopDb } = await import('../db.ts');
    const original = EdgeloopDb.prototype.transaction;
    EdgeloopDb.prototype.transaction = function (this: InstanceType<typeof EdgeloopDb>, ...args: unknown[]) {
      const writesPredictions = args[0] === 'rw' && (args[1] as { name?: string }).name === 'predictions';
      if (writesPredictions && failures-- > 0) return Promise.reject(quota());
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    try {
      const result = await api.predict(pixels(9));
      expect(result.predictionId).toBeTruthy();
      expect((await api.status()).storage.dropped.outbox).toBe(4);
      failures = 2;
      const failure = await api.predict(pixels(10)).then(
        () => null,
        (e: unknown) => EdgeloopError.from(e),
      );
      expect(failure).toMatchObject({ code: 'STORAGE' });
      expect(failure?.message).toMatch(/storage is full even after dropping .*nothing was written/);
    } finally {
      EdgeloopDb.prototype.transaction = original;
    }
    expect(await look.predictions.count()).toBe(5);
    expect(await look.outbox.where('state').equals('pending').count()).toBe(1);
    look.close();
    await api.dispose();
  });
});
