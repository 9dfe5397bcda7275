import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layersFiles } from '../../models/samples/layers-files.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { seededRandom } from '../../protocol/random.ts';
import { encodeExamples } from '../../protocol/tensors/examples.ts';
import { FakeEdge, type FakeFile, fakeFiles } from '../test/fake-edge.ts';
import { startWorker } from '../test/harness.ts';
import { MAX_STANDARD_DROP } from './guard.ts';

// A classifier of two inputs: `x`, 6 numbers, and `tag`, an id in 0..3 through an Embedding,
// joined by a Concatenate before its dense head. The usual class is the largest of three sums
// of x, moved by the tag.
const X = 6;
const classOf = (x: ArrayLike<number>, tag: number, weight: number, lean = 0) => {
  const scores = [0, 1, 2].map(
    (k) => (x[k] as number) + (x[k + 3] as number) * 0.5 + (tag === k ? weight : 0) + (k === 2 ? lean : 0),
  );
  return scores.indexOf(Math.max(...scores));
};
const usualClass = (x: ArrayLike<number>, tag: number) => classOf(x, tag, 0.6);

const realRandom = Math.random;
beforeEach(() => {
  Math.random = seededRandom(20261208);
});
afterEach(() => {
  Math.random = realRandom;
});

interface Sample {
  x: Float32Array;
  tag: number;
}

function samples(count: number, random: () => number, around = 0): Sample[] {
  return Array.from({ length: count }, () => ({
    x: Float32Array.from({ length: X }, () => around + (random() * 2 - 1)),
    tag: Math.floor(random() * 4),
  }));
}

/** Rows of both inputs, x then tag (worker/train/rows.ts), as an examples file stores them. */
const rowsOf = (list: Sample[]) => Float32Array.from(list.flatMap((s) => [...s.x, s.tag]));

async function twoInputFiles(): Promise<FakeFile[]> {
  await tf.setBackend('cpu');
  const random = seededRandom(5);
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const x = tfl.input({ shape: [X], name: 'x' });
  const tag = tfl.input({ shape: [1], name: 'tag', dtype: 'int32' });
  const embedded = tfl.layers
    .flatten()
    .apply(
      tfl.layers.embedding({ inputDim: 4, outputDim: 3, embeddingsInitializer: init(1) }).apply(tag),
    ) as tfl.SymbolicTensor;
  const joined = tfl.layers.concatenate().apply([x, embedded]) as tfl.SymbolicTensor;
  const hidden = tfl.layers.dense({ units: 24, activation: 'relu', kernelInitializer: init(2) }).apply(joined);
  const out = tfl.layers
    .dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) })
    .apply(hidden) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: [x, tag], outputs: out });
  const train = samples(3000, random);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
  const xs = tf.tensor2d(Float32Array.from(train.flatMap((s) => [...s.x])), [train.length, X]);
  const tags = tf.tensor2d(Int32Array.from(train.map((s) => s.tag)), [train.length, 1], 'int32');
  const ys = tf.tensor2d(Float32Array.from(train.map((s) => usualClass(s.x, s.tag))), [train.length, 1]);
  await model.fit([xs, tags], ys, { epochs: 30, batchSize: 64, verbose: 0 });
  tf.dispose([xs, tags, ys]);
  const files = fakeFiles(await layersFiles(model));
  model.dispose();
  for (const role of ['replay', 'holdout'] as const) {
    const list = samples(600, random);
    const labels = Int32Array.from(list.map((s) => usualClass(s.x, s.tag)));
    files.push({
      path: `${role}.safetensors`,
      role,
      bytes: encodeExamples({ shape: [X + 1], inputs: rowsOf(list), labels }),
    });
  }
  return files;
}

const manifest: Partial<Manifest> = {
  inputs: [
    { name: 'x', dtype: 'float32', shape: [-1, X] },
    { name: 'tag', dtype: 'int32', shape: [-1, 1] },
  ],
  outputs: [{ name: 'p', dtype: 'float32', shape: [-1, 3] }],
};

describe('train, a model of several inputs', () => {
  // This user's inputs lie off the usual ones (x around 1.2), and they lean to class 2 (its
  // score 1 higher): the registry is wrong on about 40% of them.
  const userClass = (s: Sample) => classOf(s.x, s.tag, 0.6, 1);

  it("learns a user's labels of two inputs (one through an Embedding), read from every recorded input", async () => {
    const edge = new FakeEdge();
    await edge.publish('pair', 1, await twoInputFiles(), manifest);
    const { api } = await startWorker({ edge, backend: 'cpu' });
    await api.load({ v: 1, model: 'pair' });
    const random = seededRandom(21);
    const feed = (s: Sample) => ({ x: s.x, tag: Int32Array.of(s.tag) });
    const right = async (list: Sample[]) => {
      let correct = 0;
      for (const s of list) if ((await api.predict(feed(s))).label === userClass(s)) correct++;
      return correct / list.length;
    };
    const unseen = samples(150, random, 1.2);
    const before = await right(unseen);
    for (const s of samples(60, random, 1.2)) {
      const { predictionId } = await api.predict(feed(s));
      await api.feedback(predictionId, userClass(s));
    }
    const result = await api.train({ v: 1 });
    const after = await right(unseen);
    console.log('two-input fine-tune', JSON.stringify({ ...result, before, after }));
    expect(result).toMatchObject({ task: 'classification', examples: 60, applied: true, reasons: [] });
    expect(result.standard.examples).toBe(600);
    expect(result.holdoutBefore - result.holdoutAfter).toBeLessThanOrEqual(MAX_STANDARD_DROP);
    // Measured: 56.7% → 86.0–86.7% of 150 of this user's inputs it never saw (three runs).
    expect(after - before).toBeGreaterThanOrEqual(0.15);
    await api.dispose();
  });
});
