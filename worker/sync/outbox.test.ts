import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { pixels, startLoadedWorker } from '../test/harness.ts';

describe('outbox', () => {
  it('gives concurrent predictions and feedback consecutive sequence numbers from 1', async () => {
    const { api, db } = await startLoadedWorker();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => api.predict(pixels(i))));
    await Promise.all(results.slice(0, 5).map((r) => api.feedback(r.predictionId, 3)));

    const rows = await db().outbox.orderBy('seq').toArray();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(rows.every((r) => r.event.seq === r.seq && r.state === 'pending')).toBe(true);
    const predictionEvents = rows.filter((r) => r.event.type === 'prediction');
    expect(new Set(predictionEvents.map((r) => r.event.id))).toEqual(new Set(results.map((r) => r.predictionId)));
    expect(predictionEvents[0]?.event).toMatchObject({ backend: 'cpu', model: 'digits', version: 1 });
    await api.dispose();
  });

  it('writes the prediction, its event and the counter in one transaction', async () => {
    const { api, db } = await startLoadedWorker();
    await api.predict(pixels(1));
    const hooked = db();
    // A corrupt counter makes the event invalid after the prediction row was written in the
    // same transaction: both must roll back.
    await hooked.meta.put({ key: 'nextSeq', value: -5 });
    const failure = await api.predict(pixels(2)).catch((e: unknown) => EdgeloopError.from(e));
    expect(failure).toMatchObject({ code: 'INTERNAL' });
    expect(await hooked.predictions.count()).toBe(1);
    expect(await hooked.outbox.count()).toBe(1);
    expect(await hooked.meta.get('nextSeq')).toEqual({ key: 'nextSeq', value: -5 });
    await api.dispose();
  });

  it('continues the sequence after the worker restarts', async () => {
    const { api, db, storage, edge } = await startLoadedWorker();
    await api.predict(pixels(1));
    await api.dispose();
    const { createWorkerApi } = await import('../api.ts');
    const again = createWorkerApi({ fetch: edge.fetch, indexedDB: storage });
    const first = await db().meta.get('identity');
    const { clientId } = await again.init({
      v: 1,
      endpoint: 'http://edge.test',
      key: edge.key,
      backend: 'cpu',
      dbName: 'edgeloop-test',
    });
    // The issued identity survives the restart: no second registration.
    expect(first).toMatchObject({ key: 'identity', value: { clientId } });
    expect(edge.count('/v1/clients', 'POST')).toBe(1);
    await again.load({ v: 1, model: 'digits' });
    await again.predict(pixels(2));
    expect((await db().outbox.toArray()).map((r) => r.seq)).toEqual([1, 2]);
    await again.dispose();
  });
});
