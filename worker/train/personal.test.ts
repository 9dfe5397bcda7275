import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userStyle } from '../../models/digits/user-styles.ts';
import { seededRandom } from '../../protocol/random.ts';
import type { IndexedDbSource } from '../db.ts';
import { holdoutDigits, publishDigits } from '../test/digits.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { startWorker } from '../test/harness.ts';

const realRandom = Math.random;
beforeEach(() => {
  Math.random = seededRandom(20251129);
});
afterEach(() => {
  Math.random = realRandom;
});

const digits = holdoutDigits();
const tilted = userStyle('tilted');
const random = seededRandom(3);
const taught = digits.images.slice(0, 50).map((image) => tilted.apply(image, random));
const probes = digits.images.slice(1000, 1040).map((image) => tilted.apply(image, random));

type Api = Awaited<ReturnType<typeof startWorker>>['api'];

async function answers(api: Api): Promise<number[][]> {
  return Promise.all(probes.map(async (image) => (await api.predict(image)).outputs));
}

/** A device (its IndexedDB kept across workers) on an edge serving digits v1. */
async function device() {
  const edge = new FakeEdge();
  await publishDigits(edge);
  const storage: IndexedDbSource = { indexedDB: new IDBFactory(), IDBKeyRange };
  const open = async () => {
    const worker = await startWorker({ edge, storage, backend: 'wasm' });
    await worker.api.load({ v: 1, model: 'digits' });
    return worker;
  };
  return { edge, open };
}

async function trainApplied(api: Api) {
  for (const [i, image] of taught.entries()) {
    const { predictionId } = await api.predict(image);
    await api.feedback(predictionId, digits.labels[i] ?? 0);
  }
  const result = await api.train({ v: 1 });
  expect(result.applied, result.note).toBe(true);
  return result;
}

describe('the personal fine-tune', () => {
  it('is stored, serves again after a restart, and revert brings back the registry weights for good', async () => {
    const { open } = await device();
    const first = await open();
    const registry = await answers(first.api);
    const result = await trainApplied(first.api);
    const personal = await answers(first.api);
    expect(personal).not.toEqual(registry);
    const stored = await first.db().personal.get('digits');
    expect(stored?.state).toMatchObject({ baseVersion: 1, examples: 50, runId: result.runId });
    // A tilted hand is read through an alignment, stored with the weights and rebuilt from them.
    expect(stored?.state.alignment).toMatchObject({ range: [0, 1] });
    // …and explained through it: integrated gradients of the served (aligned, gated) model,
    // complete on wasm, whose gather gradient is Edgeloop's own kernel.
    const probe = probes[0] as Float32Array;
    const explained = await first.api.explain(probe);
    expect(explained.backend).toBe('wasm');
    expect(explained.score).toBeCloseTo((await first.api.predict(probe)).outputs[explained.target] as number, 4);
    const gained = explained.score - (explained.baselineScore ?? Number.NaN);
    const sum = explained.attributions.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - gained)).toBeLessThanOrEqual(0.05 * Math.abs(gained));
    await first.api.dispose();

    const second = await open();
    const status = await second.api.status();
    expect(status.model).toMatchObject({ localFineTune: true, personal: { baseVersion: 1, runId: result.runId } });
    expect(await answers(second.api)).toEqual(personal);

    expect(await second.api.revert()).toEqual({ v: 1, model: 'digits', version: 1, reverted: true });
    expect(await answers(second.api)).toEqual(registry);
    expect((await second.api.status()).model).toMatchObject({ localFineTune: false, personal: null });
    expect(await second.api.revert()).toMatchObject({ reverted: false });
    await second.api.dispose();

    const third = await open();
    expect(await answers(third.api)).toEqual(registry);
    await third.api.dispose();
  });

  it('a second fine-tune is judged against the registry weights on the labels the first one learnt from', async () => {
    const { open } = await device();
    const { api } = await open();
    const first = await trainApplied(api);
    // The same labels again: what serves now has learnt every one of them, so it cannot judge.
    const second = await api.train({ v: 1 });
    expect(second.judgement).toMatchObject({
      task: 'classification',
      currentCorrect: (first.judgement as { currentCorrect: number }).currentCorrect,
    });
    expect(second.feedbackBefore).toBe(first.feedbackBefore);
    expect(second.applied, second.note).toBe(true);
    await api.dispose();
  });

  it('never serves on another version: when the alias moves, it is dropped and its labels replayed on the new base', async () => {
    const { edge, open } = await device();
    const first = await open();
    await trainApplied(first.api);
    await first.api.dispose();

    // v2: the same files as a new registry version (as a retrain with the same weights would be).
    const v1 = edge.versions.get('digits/1');
    if (!v1) throw new Error('digits v1 is published');
    edge.versions.set('digits/2', { ...v1, version: 2 });
    for (const [key, bytes] of edge.bytes)
      if (key.startsWith('digits/1/')) edge.bytes.set(key.replace('/1/', '/2/'), bytes);
    edge.aliases.set('digits/production', 2);

    const second = await startWorker({ edge, storage: first.storage, backend: 'wasm' });
    const loaded = await second.api.load({ v: 1, model: 'digits' });
    expect(loaded).toMatchObject({ version: 2, personal: { restored: false, dropped: 1 } });
    // The replay runs in the model queue: a predict waits for it.
    await second.api.predict(probes[0] ?? new Float32Array(784));
    const { model } = await second.api.status();
    expect(model?.personalNote).toMatch(
      /the personal fine-tune of v1 was dropped: a fine-tune never serves on another version; its labels were replayed on v2: applied/,
    );
    expect(model?.personal).toMatchObject({ baseVersion: 2, examples: 50 });
    expect((await second.db().personal.get('digits'))?.state.baseVersion).toBe(2);
    await second.api.dispose();
  });
});
