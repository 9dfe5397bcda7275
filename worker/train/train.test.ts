import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rotateQuarter } from '../../models/digits/user-style.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { TrainProgress } from '../../protocol/worker-api.ts';
import { holdoutDigits, publishDigits } from '../test/digits.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';

// tfjs draws dropout masks and shuffles from Math.random: seed it so a run is repeatable.
const realRandom = Math.random;
beforeEach(() => {
  let state = 20251129;
  Math.random = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
});
afterEach(() => {
  Math.random = realRandom;
});

/** The real digits model on wasm (tfjs-cpu's conv kernels make a 2000-image evaluation take ~7 s). */
async function digitsWorker() {
  const edge = new FakeEdge();
  await publishDigits(edge);
  const worker = await startWorker({ edge, backend: 'wasm' });
  await worker.api.load({ v: 1, model: 'digits' });
  return worker;
}

type Api = Awaited<ReturnType<typeof startWorker>>['api'];

async function styleAccuracy(api: Api, images: Float32Array[], labels: number[]): Promise<number> {
  let correct = 0;
  for (const [i, image] of images.entries()) if ((await api.predict(image)).label === labels[i]) correct++;
  return correct / images.length;
}

describe('train', () => {
  it('throws NO_FEEDBACK when nothing was labelled', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    await api.predict(pixels());
    const error = await api.train({ v: 1 }).catch((e: unknown) => EdgeloopError.from(e));
    expect(error).toMatchObject({ code: 'NO_FEEDBACK' });
    await api.dispose();
  });

  it('learns a user style from 40 corrections while held-out accuracy drops ≤ 1.5 points, leaking no tensors', async () => {
    const { api } = await digitsWorker();
    const digits = holdoutDigits();
    // The user writes digits turned a quarter: 40 labelled, 200 others to check generalisation.
    const style = (from: number, count: number) => ({
      images: digits.images.slice(from, from + count).map(rotateQuarter),
      labels: digits.labels.slice(from, from + count),
    });
    const taught = style(0, 40);
    const unseen = style(1000, 200);
    const unseenBefore = await styleAccuracy(api, unseen.images, unseen.labels);
    for (const [i, image] of taught.images.entries()) {
      const { predictionId } = await api.predict(image);
      await api.feedback(predictionId, taught.labels[i] ?? 0);
    }

    const progress: TrainProgress[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const result = await api.train({ v: 1 }, (p) => progress.push(p));
    const tensorsAfter = tf.memory().numTensors;
    const unseenAfter = await styleAccuracy(api, unseen.images, unseen.labels);
    console.log('fine-tune', JSON.stringify({ ...result, unseenBefore, unseenAfter }));

    expect(result).toMatchObject({ backend: 'wasm', examples: 40, replayExamples: 160, epochs: 5, version: 1 });
    expect(result).toMatchObject({ localFineTune: true, applied: true });
    expect(result.holdoutBefore - result.holdoutAfter).toBeLessThanOrEqual(0.015);
    expect(result.feedbackAfter).toBeGreaterThan(result.feedbackBefore + 0.3);
    expect(unseenAfter).toBeGreaterThan(unseenBefore + 0.1);
    expect(progress.map((p) => p.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.every((p) => p.epochs === 5 && Number.isFinite(p.loss))).toBe(true);
    expect(tensorsAfter).toBe(tensorsBefore);
    expect((await api.status()).model).toMatchObject({ version: 1, localFineTune: true });
    await api.dispose();
  });

  it('discards a fine-tune that costs more than 1.5 held-out points', async () => {
    const { api } = await digitsWorker();
    const digits = holdoutDigits();
    const probe = digits.images[1500] ?? pixels();
    const before = (await api.predict(probe)).outputs;
    // Every label off by one, learnt fast and with no replay: the model unlearns the digits.
    for (let i = 0; i < 60; i++) {
      const { predictionId } = await api.predict(digits.images[i] ?? pixels());
      await api.feedback(predictionId, ((digits.labels[i] ?? 0) + 1) % 10);
    }
    const result = await api.train({ v: 1, epochs: 3, replayRatio: 0, learningRate: 0.01 });

    expect(result.applied).toBe(false);
    expect(result.holdoutBefore - result.holdoutAfter).toBeGreaterThan(0.015);
    expect(result.note).toMatch(/discarded/);
    expect((await api.predict(probe)).outputs).toEqual(before);
    expect((await api.status()).model).toMatchObject({ localFineTune: false });
    await api.dispose();
  });

  it('trains on cpu, and says so, when the serving backend lacks a training kernel', async () => {
    const { api } = await digitsWorker();
    const digits = holdoutDigits();
    for (let i = 0; i < 8; i++) {
      const { predictionId } = await api.predict(rotateQuarter(digits.images[i] ?? pixels()));
      await api.feedback(predictionId, digits.labels[i] ?? 0);
    }
    const kernel = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    try {
      const result = await api.train({ v: 1, epochs: 1, replayRatio: 1 });
      expect(result.backend).toBe('cpu');
      expect(result.note).toMatch(/wasm lacks training kernel Conv2DBackpropFilter, so training ran on cpu/);
      expect((await api.status()).backend).toBe('wasm');
      expect((await api.predict(pixels())).backend).toBe('wasm');
    } finally {
      if (kernel && !tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.registerKernel(kernel);
    }
    await api.dispose();
  });
});
