import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { digitsFixture } from './digits-fixture.ts';
import { integratedGradients } from './integrated-gradients.ts';

// A linear model y = x·W + c: its gradient is W everywhere, so IG is exactly (x − baseline)·W[:, t].
const W = [
  [0.5, -1, 2],
  [1.5, 0.25, -0.5],
  [-2, 1, 0.75],
  [0.1, -0.3, 1.2],
];
const C = [0.3, -0.2, 0.1];

function linearModel(): tfl.Sequential {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3 })] });
  model.setWeights([tf.tensor2d(W), tf.tensor1d(C)]);
  return model;
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e).code,
  );
const message = (p: Promise<unknown>) =>
  p.then(
    () => '',
    (e: unknown) => String(EdgeloopError.from(e)),
  );

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('integratedGradients', () => {
  it('is complete within 1% on the digits CNN for real held-out images (100 steps)', async () => {
    const { model, images, labels } = await digitsFixture(6);
    const result = await integratedGradients(model, images, { steps: 100 });
    expect(result.shape).toEqual([6, 28, 28, 1]);
    expect(result.attributions).toHaveLength(6 * 784);
    expect(result.examples.map((e) => e.target)).toEqual(labels); // these six are classified right
    for (const [i, e] of result.examples.entries()) {
      const difference = e.score - e.baselineScore;
      expect(difference, `image ${i}`).toBeGreaterThan(0.5);
      expect(Math.abs(e.sum - difference), `image ${i}`).toBeLessThanOrEqual(0.01 * Math.abs(difference));
      expect(e.gap).toBeCloseTo(e.sum - difference, 6);
    }
    model.dispose();
  });

  it('equals (x − baseline)·w on a linear model, for constant and per-example baselines and given targets', async () => {
    const model = linearModel();
    const x = Float32Array.of(1, 2, 3, 4, -1, 0.5, 0, 2);
    const input = { shape: [2, 4], data: x };
    const cases = [
      { baseline: 0.5, base: (_e: number, _i: number) => 0.5 },
      { baseline: Float32Array.of(1, 0, -1, 2), base: (_e: number, i: number) => [1, 0, -1, 2][i] as number },
      { baseline: Float32Array.of(0, 0, 0, 0, 1, 1, 1, 1), base: (e: number) => e },
    ];
    for (const { baseline, base } of cases) {
      const result = await integratedGradients(model, input, { baseline, target: [2, 0], steps: 3 });
      for (const [e, t] of [2, 0].entries()) {
        expect(result.examples[e]?.target).toBe(t);
        for (let i = 0; i < 4; i++) {
          const expected = ((x[e * 4 + i] as number) - base(e, i)) * (W[i]?.[t] as number);
          expect(result.attributions[e * 4 + i]).toBeCloseTo(expected, 5);
        }
        expect(Math.abs(result.examples[e]?.gap as number)).toBeLessThan(1e-5);
      }
    }
    model.dispose();
  });

  it('explains the top class by default and gives the same answer whatever the chunking', async () => {
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [5], units: 8, activation: 'tanh' }), tfl.layers.dense({ units: 4 })],
    });
    const data = Float32Array.from({ length: 15 }, (_, i) => Math.sin(i + 1));
    const scores = (model.predict(tf.tensor2d(data, [3, 5])) as tf.Tensor).arraySync() as number[][];
    const one = await integratedGradients(model, { shape: [3, 5], data }, { steps: 20, batchSize: 1 });
    const seven = await integratedGradients(model, { shape: [3, 5], data }, { steps: 20, batchSize: 7 });
    const all = await integratedGradients(model, { shape: [3, 5], data }, { steps: 20, batchSize: 1024 });
    expect(one.examples.map((e) => e.target)).toEqual(scores.map((row) => row.indexOf(Math.max(...row))));
    for (const other of [seven, all]) {
      for (let i = 0; i < 15; i++) expect(other.attributions[i]).toBeCloseTo(one.attributions[i] as number, 5);
    }
    // A smooth model: the trapezoid rule's error is far below 1% at 20 steps.
    for (const e of one.examples) expect(Math.abs(e.gap)).toBeLessThan(0.01 * Math.abs(e.score - e.baselineScore));
    model.dispose();
  });

  it('refuses bad options, inputs and models with INVALID_INPUT', async () => {
    const model = linearModel();
    const input = { shape: [1, 4], data: new Float32Array(4) };
    for (const steps of [0, 257, 1.5]) {
      expect(await message(integratedGradients(model, input, { steps }))).toMatch(/INVALID_INPUT\] options\.steps/);
    }
    expect(await message(integratedGradients(model, input, { batchSize: 0 }))).toMatch(/options\.batchSize/);
    expect(await message(integratedGradients(model, input, { target: 3 }))).toMatch(/options\.target: 3/);
    expect(await message(integratedGradients(model, input, { target: [0, 1] }))).toMatch(/options\.target/);
    expect(await message(integratedGradients(model, input, { baseline: new Float32Array(3) }))).toMatch(/baseline/);
    expect(await message(integratedGradients(model, input, { baseline: Number.NaN }))).toMatch(/baseline/);
    const ints = { shape: [1, 4], data: new Int32Array(4) };
    expect(await message(integratedGradients(model, ints))).toMatch(/float/);
    expect(await message(integratedGradients(model, { shape: [1, 5], data: new Float32Array(5) }))).toMatch(
      /does not fit/,
    );
    expect(await message(integratedGradients(model, { shape: [1, 4], data: new Float32Array(3) }))).toMatch(/hold/);
    const a = tfl.input({ shape: [2] });
    const b = tfl.input({ shape: [2] });
    const twoInputs = tfl.model({
      inputs: [a, b],
      outputs: tfl.layers.dense({ units: 2 }).apply(tfl.layers.concatenate().apply([a, b])) as tfl.SymbolicTensor,
    });
    expect(await code(integratedGradients(twoInputs, { shape: [1, 2], data: new Float32Array(2) }))).toBe(
      'INVALID_INPUT',
    );
    expect(await message(integratedGradients(twoInputs, { shape: [1, 2], data: new Float32Array(2) }))).toMatch(
      /2 inputs/,
    );
    model.dispose();
    twoInputs.dispose();
  });

  it('leaves no tensors behind, whether it answers or fails late', async () => {
    const { model, images } = await digitsFixture(2);
    const linear = linearModel();
    const before = tf.memory().numTensors;
    await integratedGradients(model, images, { steps: 8, batchSize: 5 });
    await integratedGradients(linear, { shape: [1, 4], data: Float32Array.of(1, 2, 3, 4) }, { steps: 4 });
    // The target is checked after the input tensors exist: they must be freed on the way out.
    expect(await code(integratedGradients(model, images, { target: 10 }))).toBe('INVALID_INPUT');
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    linear.dispose();
  });
});
