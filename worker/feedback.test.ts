import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../protocol/errors.ts';
import { FakeEdge } from './test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from './test/harness.ts';
import { userExamples } from './train/examples.ts';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );

async function predicted() {
  const edge = new FakeEdge();
  await publishTinyModel(edge);
  const worker = await startWorker({ edge });
  await worker.api.load({ v: 1, model: 'digits' });
  const prediction = await worker.api.predict(pixels(1));
  return { ...worker, prediction };
}

describe('feedback', () => {
  it('refuses labels that are not a class of the model', async () => {
    const { api, prediction } = await predicted();
    for (const label of [-1, 1.5, Number.NaN, 10]) {
      const error = await failure(api.feedback(prediction.predictionId, label));
      expect(error?.code, `label ${label}`).toBe('INVALID_INPUT');
      expect(error?.message).toContain('label');
    }
    await api.dispose();
  });

  it('refuses unknown and malformed prediction ids', async () => {
    const { api } = await predicted();
    expect((await failure(api.feedback(crypto.randomUUID(), 3)))?.code).toBe('UNKNOWN_PREDICTION');
    const malformed = await failure(api.feedback('not-a-uuid', 3));
    expect(malformed?.code).toBe('INVALID_INPUT');
    expect(malformed?.message).toContain('predictionId');
    await api.dispose();
  });

  it('stores each correction as a new event; the latest label wins for training', async () => {
    const { api, db, prediction } = await predicted();
    await api.feedback(prediction.predictionId, 3);
    await api.feedback(prediction.predictionId, 8);

    const events = (await db().outbox.toArray()).map((r) => r.event);
    expect(events.map((e) => e.type)).toEqual(['prediction', 'feedback', 'feedback']);
    expect(events.slice(1)).toMatchObject([
      { predictionId: prediction.predictionId, label: 3, seq: 2, model: 'digits', version: 1 },
      { predictionId: prediction.predictionId, label: 8, seq: 3 },
    ]);
    expect(await db().feedback.count()).toBe(2);

    const runtimeLike = { db: db() } as Parameters<typeof userExamples>[0];
    const loadedLike = { name: 'digits', inputSize: 784 } as Parameters<typeof userExamples>[1];
    const examples = await userExamples(runtimeLike, loadedLike, null);
    expect(examples.count).toBe(1);
    expect(Array.from(examples.labels)).toEqual([8]);
    expect(examples.inputs).toEqual(pixels(1));
    await api.dispose();
  });
});
