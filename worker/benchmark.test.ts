import { describe, expect, it } from 'vitest';
import { FakeEdge } from './test/fake-edge.ts';
import { publishTinyModel, startWorker } from './test/harness.ts';

describe('benchmark', () => {
  it('times predicts made directly in the worker on the active backend', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api, db } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    const result = await api.benchmark(5);
    expect(result).toMatchObject({ v: 1, backend: 'cpu', iterations: 5 });
    expect(result.directMs).toBeGreaterThan(0);
    // Direct predicts record nothing: they are not user predictions.
    expect(await db().outbox.count()).toBe(0);
    await api.dispose();
  });
});
