import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userStyle } from '../../models/digits/user-styles.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import { seededRandom } from '../../protocol/random.ts';
import type { TrainProgress } from '../../protocol/train.ts';
import { holdoutDigits, publishDigits } from '../test/digits.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';
import { MAX_STANDARD_DROP } from './guard.ts';

// tfjs draws dropout masks, and the fit its batches and augmentations, from Math.random: seed it.
const realRandom = Math.random;
beforeEach(() => {
  Math.random = seededRandom(20251129);
});
afterEach(() => {
  Math.random = realRandom;
});

type Api = Awaited<ReturnType<typeof startWorker>>['api'];
const digits = holdoutDigits();

/** The real digits model on wasm (tfjs-cpu's conv kernels make a 2000-image evaluation take ~7 s). */
async function digitsWorker() {
  const edge = new FakeEdge();
  await publishDigits(edge);
  const worker = await startWorker({ edge, backend: 'wasm' });
  await worker.api.load({ v: 1, model: 'digits' });
  return worker;
}

/** Held-out digits `from … from + count` in a named user style. */
function inStyle(name: string, from: number, count: number) {
  const random = seededRandom(from + 1);
  const { apply } = userStyle(name);
  return {
    images: digits.images.slice(from, from + count).map((image) => apply(image, random)),
    labels: digits.labels.slice(from, from + count),
  };
}

async function label(api: Api, images: Float32Array[], labels: readonly number[]): Promise<void> {
  for (const [i, image] of images.entries()) {
    const { predictionId } = await api.predict(image);
    await api.feedback(predictionId, labels[i] ?? 0);
  }
}

async function accuracy(api: Api, images: Float32Array[], labels: readonly number[]): Promise<number> {
  let correct = 0;
  for (const [i, image] of images.entries()) if ((await api.predict(image)).label === labels[i]) correct++;
  return correct / images.length;
}

describe('train', () => {
  it('throws NO_FEEDBACK with nothing labelled, or too few labels to judge a fine-tune', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels());
    const none = await api.train({ v: 1 }).catch((e: unknown) => EdgeloopError.from(e));
    expect(none).toMatchObject({ code: 'NO_FEEDBACK' });
    for (let i = 0; i < 4; i++) await label(api, [pixels(i + 1)], [i]);
    const few = await api.train({ v: 1 }).catch((e: unknown) => EdgeloopError.from(e));
    expect(few).toMatchObject({ code: 'NO_FEEDBACK' });
    expect(few).toHaveProperty(
      'message',
      expect.stringMatching(/4 labelled predictions of digits v1 on this device; a fine-tune needs at least 5/),
    );
    await api.dispose();
  });

  it('learns a tilted hand from 50 labels, each judged by a fit that never saw it, within 1 standard point, leaking no tensors', async () => {
    const { api } = await digitsWorker();
    const taught = inStyle('tilted', 0, 50);
    const unseen = inStyle('tilted', 1000, 300);
    const unseenBefore = await accuracy(api, unseen.images, unseen.labels);
    await label(api, taught.images, taught.labels);

    const progress: TrainProgress[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const result = await api.train({ v: 1 }, (p) => progress.push(p));
    const unseenAfter = await accuracy(api, unseen.images, unseen.labels);
    console.log('fine-tune', JSON.stringify({ ...result, unseenBefore, unseenAfter }));

    expect(result).toMatchObject({ backend: 'wasm', examples: 50, judgedExamples: 50, epochs: 6, version: 1 });
    expect(result).toMatchObject({ localFineTune: true, applied: true, reasons: [] });
    expect(result.judgement).toMatchObject({ method: 'cross-validation', folds: 3, judged: 50 });
    expect(result.standard.examples).toBe(2000);
    expect(result.holdoutBefore - result.holdoutAfter).toBeLessThanOrEqual(MAX_STANDARD_DROP);
    expect(result.feedbackAfter).toBeGreaterThan(result.feedbackBefore);
    // Half the gap to standard accuracy closed on digits it never saw.
    expect(unseenAfter - unseenBefore).toBeGreaterThan((result.holdoutBefore - unseenBefore) / 2);
    const epochs = Array.from({ length: 6 }, (_, i) => i + 1);
    expect(progress.filter((p) => !p.fold).map((p) => p.epoch)).toEqual(epochs);
    expect(progress.filter((p) => p.fold).map((p) => `${p.fold?.index}/${p.fold?.of}`)).toEqual(
      [1, 2, 3].flatMap((f) => epochs.map(() => `${f}/3`)),
    );
    expect(progress.every((p) => p.epochs === 6 && Number.isFinite(p.loss))).toBe(true);
    // The personal head and gate stay (their weights); nothing else does.
    const personalWeights = 4 + 2; // two dense layers in the head, one in the gate
    expect(tf.memory().numTensors - tensorsBefore).toBe(personalWeights);
    expect((await api.status()).model).toMatchObject({
      version: 1,
      localFineTune: true,
      personal: { baseVersion: 1, examples: 50, feedbackAccuracy: result.feedbackAfter },
    });
    await api.dispose();
  });

  it('prepares a fine-tune once a label is recorded: train itself fetches no replay or holdout file', async () => {
    const { api, edge } = await digitsWorker();
    const files = () => edge.requests.filter((r) => /\/files\/(replay|holdout)\.safetensors$/.test(r.path)).length;
    const taught = inStyle('inverted', 0, 8);
    await api.predict(taught.images[0] as Float32Array);
    expect(files()).toBe(0);
    await label(api, taught.images.slice(0, 1), taught.labels.slice(0, 1));
    // A predict queues behind the preparation.
    await api.predict(taught.images[1] as Float32Array);
    expect(files()).toBe(2);
    await label(api, taught.images.slice(1), taught.labels.slice(1));
    const result = await api.train({ v: 1, epochs: 2 });
    expect(result.examples).toBe(8);
    expect(files()).toBe(2);
    await api.dispose();
  });

  it('does not prepare ahead on tfjs-cpu, where it would hold predictions for seconds', async () => {
    const edge = new FakeEdge();
    await publishDigits(edge);
    const { api } = await startWorker({ edge, backend: 'cpu' });
    await api.load({ v: 1, model: 'digits' });
    const taught = inStyle('inverted', 0, 2);
    await label(api, taught.images, taught.labels);
    await api.predict(taught.images[0] as Float32Array);
    expect(edge.requests.filter((r) => /\/files\/(replay|holdout)\.safetensors$/.test(r.path))).toEqual([]);
    await api.dispose();
  });

  it('with few labels cross-validates, and reports each fold', async () => {
    const { api } = await digitsWorker();
    const taught = inStyle('inverted', 0, 12);
    await label(api, taught.images, taught.labels);
    const progress: TrainProgress[] = [];
    const result = await api.train({ v: 1, epochs: 4 }, (p) => progress.push(p));
    expect(result.judgement).toMatchObject({ method: 'cross-validation', folds: 5, judged: 12 });
    expect(result.judgedExamples).toBe(12);
    expect(progress.filter((p) => p.fold).map((p) => `${p.fold?.index}/${p.epoch}`)).toEqual(
      [1, 2, 3, 4, 5].flatMap((f) => [1, 2, 3, 4].map((e) => `${f}/${e}`)),
    );
    expect(progress.filter((p) => !p.fold).map((p) => p.epoch)).toEqual([1, 2, 3, 4]);
    await api.dispose();
  });

  it('never applies a candidate trained on random labels, styled or not, and says why', async () => {
    const random = seededRandom(7);
    for (const [name, count] of [
      ['tilted', 50],
      ['inverted', 40],
      ['bold', 12],
    ] as const) {
      const { api } = await digitsWorker();
      const probe = inStyle(name, 1500, 5);
      const before = await Promise.all(probe.images.map(async (image) => (await api.predict(image)).outputs));
      const taught = inStyle(name, 0, count);
      await label(
        api,
        taught.images,
        taught.labels.map(() => Math.floor(random() * 10)),
      );
      const result = await api.train({ v: 1 });
      expect(result.applied, `${name}: ${result.note}`).toBe(false);
      expect(result.reasons.length).toBeGreaterThan(0);
      expect(result.note).toMatch(/not applied: /);
      const after = await Promise.all(probe.images.map(async (image) => (await api.predict(image)).outputs));
      expect(after).toEqual(before);
      expect((await api.status()).model).toMatchObject({ localFineTune: false, personal: null });
      await api.dispose();
    }
  });

  it('a cancelled training rejects with CANCELLED and leaves the served weights as they were', async () => {
    const { api } = await digitsWorker();
    const taught = inStyle('tilted', 0, 40);
    await label(api, taught.images, taught.labels);
    const probe = taught.images[0] ?? pixels();
    const before = (await api.predict(probe)).outputs;
    const training = api.train({ v: 1 }, (p) => {
      if (p.epoch === 2) api.cancelTraining();
    });
    const error = await training.catch((e: unknown) => EdgeloopError.from(e));
    expect(error).toMatchObject({ code: 'CANCELLED' });
    expect((await api.predict(probe)).outputs).toEqual(before);
    expect((await api.status()).model?.personal).toBeNull();
    await api.dispose();
  });
});
