import * as tf from '@tensorflow/tfjs-core';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { createWorkerApi } from '../api.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, startLoadedWorker, startWorker } from '../test/harness.ts';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );

describe('worker explain', () => {
  it('attributes the predicted class to the 784 inputs, summing to the score gained over the baseline', async () => {
    const { api, db } = await startLoadedWorker();
    const input = pixels(3);
    const prediction = await api.predict(input);
    const pending = (await api.status()).pending;

    const result = await api.explain(input);
    expect(result).toMatchObject({ v: 1, model: 'digits', version: 1, method: 'integrated-gradients', steps: 50 });
    expect(result.backend).toBe('cpu');
    expect(result.target).toBe(prediction.label);
    expect(result.score).toBeCloseTo(prediction.outputs[prediction.label] as number, 5);
    expect(result.attributions).toHaveLength(784);
    const sum = result.attributions.reduce((a, b) => a + b, 0);
    const gained = result.score - (result.baselineScore ?? Number.NaN);
    expect(Math.abs(sum - gained)).toBeLessThanOrEqual(0.01 * Math.abs(gained));
    expect(result.gap).toBeCloseTo(sum - gained, 5);
    // Explaining records nothing: no prediction, no event.
    expect((await api.status()).pending).toBe(pending);
    const store = db();
    expect(await store.predictions.count()).toBe(1);
    store.close();
    await api.dispose();
  });

  it('explains the class, steps and baseline asked for, and frees its tensors', async () => {
    const { api } = await startLoadedWorker();
    const input = pixels(1);
    await api.explain(input, { v: 1, steps: 2 }); // the first call builds the model's gradient kernels
    const before = tf.memory().numTensors;
    const other = await api.explain(input, { v: 1, target: 4, steps: 80, baseline: 0.5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(other).toMatchObject({ target: 4, steps: 80 });
    // The baseline 0.5 everywhere: a pixel at 0.5 differs from it by nothing, so it gets nothing.
    const half = Float32Array.from(input, () => 0.5);
    half[0] = 1;
    const atHalf = await api.explain(half, { v: 1, target: 4, baseline: 0.5 });
    expect(atHalf.attributions.slice(1).every((a) => a === 0)).toBe(true);
    expect(atHalf.attributions[0]).not.toBe(0);
    await api.dispose();
  });

  it('refuses up front, with its estimate, an explanation over its time budget', async () => {
    const { api } = await startLoadedWorker();
    const fits = await api.explain(pixels(1), { v: 1, steps: 10 });
    expect(fits.estimateMs).toBeGreaterThan(0);
    const pending = (await api.status()).pending;
    // 256 steps cost 1,031 passes: more than a budget of 2 passes' worth.
    const refused = await failure(api.explain(pixels(1), { v: 1, steps: 256, budgetMs: fits.estimateMs / 23 }));
    expect(refused?.code).toBe('TOO_COSTLY');
    expect(refused?.message).toMatch(
      /explain would take about [\d.]+ s \(1031 passes × [\d.]+ ms per predict on cpu\)/,
    );
    expect(refused?.message).toContain('pass at most 0 steps, or a larger budgetMs');
    // Occlusion is estimated the same way: one pass per 4×4 patch (49) and two more.
    const occluded = await api.explain(pixels(1), { v: 1, method: 'occlusion' });
    expect(occluded).toMatchObject({ method: 'occlusion', target: fits.target });
    expect(occluded.estimateMs / fits.estimateMs).toBeCloseTo(51 / 47, 5);
    expect((await api.status()).pending).toBe(pending);
    await api.dispose();
  });

  it('checks the call like predict: init, load, then input and options', async () => {
    const api = createWorkerApi({
      fetch: new FakeEdge().fetch,
      indexedDB: { indexedDB: new IDBFactory(), IDBKeyRange },
    });
    expect((await failure(api.explain(pixels())))?.code).toBe('NOT_INITIALIZED');
    const started = await startWorker();
    expect((await failure(started.api.explain(pixels())))?.code).toBe('MODEL_NOT_LOADED');
    await started.api.dispose();

    const { api: ready } = await startLoadedWorker();
    const bad: [Promise<unknown>, RegExp][] = [
      [ready.explain(new Float32Array(10)), /input: expected 784 floats, got 10/],
      [ready.explain(pixels(), { v: 1, budgetMs: 0 }), /options\.budgetMs/],
      [ready.explain(Float32Array.from(pixels(), (x, i) => (i === 5 ? 2 : x))), /input\[5\]: 2 is not in \[0, 1\]/],
      [ready.explain([0.5] as never), /input: must be a typed array, or \{ data: typed array, shape \}/],
      [ready.explain(pixels(), { v: 1, steps: 0 }), /options\.steps/],
      [ready.explain(pixels(), { v: 1, steps: 257 }), /options\.steps: must be an integer in \[1, 256\]/],
      [ready.explain(pixels(), { v: 1, target: 10 }), /options\.target: 10 is not an output index in \[0, 9\]/],
      [ready.explain(pixels(), { v: 1, baseline: Number.NaN }), /options\.baseline/],
      [ready.explain(pixels(), { v: 1, colour: 'red' } as never), /options\.colour/],
      [ready.explain(pixels(), { steps: 10 } as never), /options\.v/],
    ];
    for (const [call, message] of bad) {
      const error = await failure(call);
      expect(error?.code, String(message)).toBe('INVALID_INPUT');
      expect(error?.message).toMatch(message);
    }
    await ready.dispose();
  });
});
