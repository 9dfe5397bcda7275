import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { FloatBatch } from './common.ts';
import { digitsFixture } from './digits-fixture.ts';
import { occlusion, type RunBatch } from './occlusion.ts';

/** y = x·W for W [size, classes], in plain JS, counting the calls and the rows per call. */
function linear(w: number[][]): { run: RunBatch; calls: number[] } {
  const classes = (w[0] as number[]).length;
  const calls: number[] = [];
  const run: RunBatch = ({ shape, data }) => {
    const rows = shape[0] as number;
    const size = data.length / rows;
    calls.push(rows);
    const out = new Float32Array(rows * classes);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < size; i++) {
        for (let k = 0; k < classes; k++) {
          const at = r * classes + k;
          out[at] = (out[at] as number) + (data[r * size + i] as number) * (w[i]?.[k] as number);
        }
      }
    }
    return out;
  };
  return { run, calls };
}

const W5 = [
  [1, -1],
  [2, 0.5],
  [-3, 1],
  [0.5, 2],
  [4, -2],
];

const message = (p: Promise<unknown>) =>
  p.then(
    () => '',
    // `[CODE] message`: the patterns check both.
    (e: unknown) => String(e),
  );

describe('occlusion', () => {
  it('equals w_i·(x_i − b) per feature on a linear model, in batches of at most batchSize rows', async () => {
    const { run, calls } = linear(W5);
    const x = Float32Array.of(1, 2, 3, 4, 5, -1, 0, 1, 0.5, 0.25);
    const result = await occlusion(run, { shape: [2, 5], data: x }, { baseline: 0.25, target: [0, 1], batchSize: 3 });
    expect(result.examples.map((e) => e.target)).toEqual([0, 1]);
    for (const [e, t] of [0, 1].entries()) {
      for (let i = 0; i < 5; i++) {
        const expected = (W5[i]?.[t] as number) * ((x[e * 5 + i] as number) - 0.25);
        expect(result.attributions[e * 5 + i]).toBeCloseTo(expected, 5);
      }
    }
    // 2 originals, then 10 occluded rows: never more than 3 per call.
    expect(calls).toEqual([2, 3, 3, 3, 1]);
    expect(result.patch).toEqual([1, 1]);
  });

  it('averages the drops of overlapping windows over the windows covering each feature', async () => {
    const { run } = linear(W5);
    const x = Float32Array.of(1, 2, 3, 4, 5);
    const result = await occlusion(run, { shape: [1, 5], data: x }, { patch: 2, stride: 1, target: 0 });
    // d_i = w_i·x_i; windows start at 0…4, the last one clipped to feature 4 alone.
    const [d0, d1, d2, d3, d4] = [1, 4, -9, 2, 20];
    const expected = [
      d0 + d1,
      (d0 + 2 * d1 + d2) / 2,
      (d1 + 2 * d2 + d3) / 2,
      (d2 + 2 * d3 + d4) / 2,
      (d3 + 2 * d4) / 2,
    ];
    expect(Array.from(result.attributions)).toEqual(expected.map((n) => expect.closeTo(n, 5)));
    expect(result.stride).toEqual([1, 1]);
  });

  it('hides square patches across every channel of an image', async () => {
    // [1, 4, 4, 2] image, 2×2 patches: each element gets the drop of the one patch holding it.
    const w = Array.from({ length: 32 }, (_, i) => [((i * 7) % 5) - 2]);
    const { run } = linear(w);
    const x = Float32Array.from({ length: 32 }, (_, i) => (i % 3) + 1);
    const d = (i: number) => (w[i]?.[0] as number) * (x[i] as number);
    const result = await occlusion(run, { shape: [1, 4, 4, 2], data: x }, { patch: 2, target: 0 });
    for (let i = 0; i < 32; i++) {
      const cell = Math.floor(i / 2);
      const [top, left] = [Math.floor(cell / 4 / 2) * 2, Math.floor((cell % 4) / 2) * 2];
      let drop = 0;
      for (const y of [top, top + 1])
        for (const xx of [left, left + 1]) drop += d((y * 4 + xx) * 2) + d((y * 4 + xx) * 2 + 1);
      expect(result.attributions[i], `element ${i}`).toBeCloseTo(drop, 5);
    }
    // The same image channels first: the same attributions, transposed.
    const nchw = (i: number) => (i % 2) * 16 + Math.floor(i / 2);
    const wFirst: number[][] = [];
    const xFirst = new Float32Array(32);
    for (let i = 0; i < 32; i++) {
      wFirst[nchw(i)] = w[i] as number[];
      xFirst[nchw(i)] = x[i] as number;
    }
    const first = await occlusion(
      linear(wFirst).run,
      { shape: [1, 2, 4, 4], data: xFirst },
      { patch: 2, target: 0, layout: 'nchw' },
    );
    for (let i = 0; i < 32; i++) expect(first.attributions[nchw(i)]).toBeCloseTo(result.attributions[i] as number, 5);
    // Each patch's drop lands on its 8 elements.
    expect(result.examples[0]?.sum).toBeCloseTo(
      8 * Array.from({ length: 32 }, (_, i) => d(i)).reduce((a, b) => a + b),
      4,
    );
  });

  it('puts the digits CNN’s evidence on the ink rather than the background', async () => {
    const { model, images, labels } = await digitsFixture(8);
    const calls: number[] = [];
    const run: RunBatch = async (batch: FloatBatch) => {
      calls.push(batch.shape[0] as number);
      const out = tf.tidy(() => model.predict(tf.tensor(batch.data, batch.shape)) as tf.Tensor);
      const data = await out.data();
      out.dispose();
      return data;
    };
    const before = tf.memory().numTensors;
    const result = await occlusion(run, images, { patch: 4, batchSize: 256 });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.examples.map((e) => e.target)).toEqual(labels);
    // 8 originals, then 8 × 49 patches in calls of at most 256 rows.
    expect(calls).toEqual([8, 256, 136]);
    // Per pixel, hiding the ink costs the top class far more than hiding the background (which
    // still shares patches with the ink's edge); scrambled cells or channels would even them out.
    for (let e = 0; e < 8; e++) {
      const ink: number[] = [];
      const background: number[] = [];
      for (let i = 0; i < 784; i++) {
        const pixel = images.data[e * 784 + i] as number;
        if (pixel > 0.5) ink.push(result.attributions[e * 784 + i] as number);
        else if (pixel === 0) background.push(result.attributions[e * 784 + i] as number);
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(ink), `image ${e}`).toBeGreaterThan(0);
      expect(mean(ink), `image ${e}`).toBeGreaterThan(3 * mean(background));
    }
    model.dispose();
  });

  it('refuses bad inputs, options and model answers with INVALID_INPUT', async () => {
    const { run } = linear(W5);
    const flat = { shape: [1, 5], data: new Float32Array(5) };
    const image = { shape: [1, 4, 4, 1], data: new Float32Array(16) };
    const cases: [Promise<unknown>, RegExp][] = [
      [occlusion(run, { shape: [1, 5], data: new Int32Array(5) }), /float/],
      [occlusion(run, { shape: [1, 5, 1], data: new Float32Array(5) }), /\[N, H, W, C\] or \[N, D\]/],
      [occlusion(run, flat, { patch: 6 }), /options\.patch/],
      [occlusion(run, flat, { patch: [1, 2] }), /flat inputs/],
      [occlusion(run, flat, { patch: 2, stride: 3 }), /options\.stride/],
      [occlusion(run, image, { patch: 5 }), /options\.patch/],
      [occlusion(run, image, { patch: [2, 2], stride: [2, 3] }), /options\.stride/],
      [occlusion(run, flat, { target: 2 }), /options\.target: 2/],
      [occlusion(run, image, { layout: 'chw' as never }), /options\.layout/],
      [occlusion(run, flat, { baseline: Number.POSITIVE_INFINITY }), /options\.baseline/],
      [occlusion(run, flat, { batchSize: 0 }), /options\.batchSize/],
      [occlusion(() => new Float32Array(3), { shape: [2, 5], data: new Float32Array(10) }), /3 values for 2 rows/],
    ];
    for (const [call, pattern] of cases)
      expect(await message(call)).toMatch(new RegExp(`INVALID_INPUT.*${pattern.source}`));
  });
});
