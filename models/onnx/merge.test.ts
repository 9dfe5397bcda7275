import { setBackend, sub, type Tensor, tensor } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from './export.ts';
import { compareOnnx, compareWithTfjs, maxAbsDiff, randomInput, runOnnxFeeds, saveArtifacts } from './test-support.ts';

const TOLERANCE = 1e-5;
const kernel = (seed: number) => tfl.initializers.glorotUniform({ seed });
const bias = (seed: number) => tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });
type Sym = tfl.SymbolicTensor;

beforeAll(async () => {
  await setBackend('cpu');
});

/** A Conv2D (so its output is NCHW inside the export) applied to `x`. */
const conv = (x: Sym, filters: number, seed: number, extra: Record<string, unknown> = {}) =>
  tfl.layers
    .conv2d({
      filters,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: kernel(seed),
      biasInitializer: bias(seed + 1),
      ...extra,
    })
    .apply(x) as Sym;
const dense = (x: Sym, units: number, seed: number, extra: Record<string, unknown> = {}) =>
  tfl.layers
    .dense({ units, kernelInitializer: kernel(seed), biasInitializer: bias(seed + 1), ...extra })
    .apply(x) as Sym;

async function expectSame(inputs: Sym | Sym[], outputs: Sym | Sym[], batch = 3): Promise<void> {
  const { outputs: compared } = await compareWithTfjs(tfl.model({ inputs, outputs }), { batch });
  for (const { diff, tfjsShape, onnxShape } of compared) {
    expect(onnxShape).toEqual(tfjsShape);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  }
}

const MERGES = {
  Add: () => tfl.layers.add({}),
  Multiply: () => tfl.layers.multiply({}),
  Average: () => tfl.layers.average({}),
  Maximum: () => tfl.layers.maximum({}),
  Minimum: () => tfl.layers.minimum({}),
};

describe('exportOnnx: elementwise merges', () => {
  it.each(Object.entries(MERGES))(
    '%s of three image branches in mixed layouts, and of two Dense branches',
    async (_n, merge) => {
      const x = tfl.input({ shape: [6, 5, 2] });
      // First input NCHW (the raw NHWC input is transposed to match), then first input NHWC.
      await expectSame(x, merge().apply([conv(x, 2, 1), conv(x, 2, 3, { activation: 'relu' }), x]) as Sym);
      await expectSame(x, conv(merge().apply([x, conv(x, 2, 5)]) as Sym, 3, 7));
      const v = tfl.input({ shape: [7] });
      await expectSame(v, merge().apply([dense(v, 4, 9), dense(v, 4, 11, { activation: 'tanh' })]) as Sym);
    },
  );

  it('Add broadcasts a [1, 1, C] branch over an image, as tfjs does', async () => {
    const x = tfl.input({ shape: [5, 4, 3] });
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(conv(x, 3, 13)) as Sym;
    const gate = tfl.layers
      .reshape({ targetShape: [1, 1, 3] })
      .apply(dense(pooled, 3, 15, { activation: 'sigmoid' })) as Sym;
    await expectSame(x, tfl.layers.add({}).apply([conv(x, 3, 17), gate]) as Sym);
    await expectSame(x, tfl.layers.multiply({}).apply([gate, x]) as Sym);
  });

  it('Subtract (Keras; tfjs-layers has none): the first input minus the second', async () => {
    const x = tfl.input({ shape: [4, 4, 2], name: 'x' });
    const a = conv(x, 2, 19, { name: 'a' });
    const b = conv(x, 2, 21, { name: 'b', activation: 'relu' });
    const sum = tfl.layers.add({ name: 'diff' }).apply([a, b]) as Sym;
    const { modelJson, shards } = await saveArtifacts(tfl.model({ inputs: x, outputs: sum }));
    const layers = (modelJson.modelTopology.config as { layers: { class_name: string; name: string }[] }).layers;
    const merge = layers.find((l) => l.name === 'diff');
    if (!merge) throw new Error('no merge layer');
    merge.class_name = 'Subtract';
    const onnx = exportOnnx(modelJson, shards);
    const data = randomInput(2 * 32, 23);
    const [ya, yb] = tfl.model({ inputs: x, outputs: [a, b] }).predict(tensor(data, [2, 4, 4, 2])) as Tensor[];
    const expected = sub(ya as Tensor, yb as Tensor).dataSync() as Float32Array;
    const { outputs } = await runOnnxFeeds(onnx, { x: { data, dims: [2, 4, 4, 2] } });
    expect(outputs[0]?.dims).toEqual([2, 4, 4, 2]);
    expect(maxAbsDiff(expected, outputs[0]?.data as Float32Array)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('exportOnnx: Concatenate', () => {
  it.each([-1, 1, 2, 3])('images along axis %i, NCHW and NHWC inputs mixed', async (axis) => {
    const x = tfl.input({ shape: [5, 5, 2] });
    const joined = tfl.layers.concatenate({ axis }).apply([conv(x, 2, 25), x, conv(x, 2, 27)]) as Sym;
    await expectSame(x, joined);
    // Ending in Flatten checks the concatenated NHWC order, not only the values.
    await expectSame(
      x,
      tfl.layers.flatten().apply(tfl.layers.concatenate({ axis }).apply([x, conv(x, 2, 29)]) as Sym) as Sym,
    );
  });

  it('feature vectors (axis -1 and 1) and sequences (axis 1 and 2)', async () => {
    const v = tfl.input({ shape: [6] });
    await expectSame(v, tfl.layers.concatenate({}).apply([dense(v, 3, 31), v, dense(v, 2, 33)]) as Sym);
    await expectSame(v, tfl.layers.concatenate({ axis: 1 }).apply([v, dense(v, 2, 35)]) as Sym);
    const s = tfl.input({ shape: [4, 3] });
    await expectSame(s, tfl.layers.concatenate({ axis: 1 }).apply([s, dense(s, 3, 37)]) as Sym);
    await expectSame(s, tfl.layers.concatenate({ axis: 2 }).apply([s, dense(s, 5, 39)]) as Sym);
  });
});

describe('exportOnnx: functional graphs with several inputs and outputs', () => {
  /** An image and a vector input; three outputs: class scores, a gate, and the feature map itself. */
  function twoHeaded() {
    const image = tfl.input({ shape: [8, 8, 3], name: 'image' });
    const meta = tfl.input({ shape: [5], name: 'meta' });
    const features = conv(image, 4, 41, { name: 'features', activation: 'relu', strides: 2 });
    const pooled = tfl.layers.globalAveragePooling2d({ name: 'pooled' }).apply(features) as Sym;
    const joined = tfl.layers.concatenate({ name: 'joined' }).apply([pooled, dense(meta, 3, 43)]) as Sym;
    const scores = dense(joined, 4, 45, { name: 'scores', activation: 'softmax' });
    const gate = dense(joined, 1, 47, { name: 'gate', activation: 'sigmoid' });
    return tfl.model({ inputs: [image, meta], outputs: [scores, gate, features] });
  }

  it('names inputs after the InputLayers and outputs after the output layers, in the model order', async () => {
    const model = twoHeaded();
    const { outputs, session } = await compareWithTfjs(model, { batch: 4 });
    expect(session.inputNames).toEqual(['image', 'meta']);
    expect(session.outputNames).toEqual(['scores', 'gate', 'features']);
    expect(outputs.map((o) => o.onnxShape)).toEqual([
      [4, 4],
      [4, 1],
      [4, 4, 4, 4],
    ]);
    for (const { diff, tfjsShape, onnxShape } of outputs) {
      expect(onnxShape).toEqual(tfjsShape);
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
    }
    expect(session.inputMetadata[1]).toMatchObject({ isTensor: true, type: 'float32', shape: ['batch', 5] });
  });

  it('takes inputNames and outputNames from the options', async () => {
    const model = twoHeaded();
    const { modelJson, shards } = await saveArtifacts(model);
    const onnx = exportOnnx(modelJson, shards, {
      inputNames: ['pixels', 'extra'],
      outputNames: ['probabilities', 'confidence', 'feature_map'],
    });
    const { diff, session } = await compareOnnx(model, onnx, { seed: 3 });
    expect(session.inputNames).toEqual(['pixels', 'extra']);
    expect(session.outputNames).toEqual(['probabilities', 'confidence', 'feature_map']);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('a layer feeding several others, and an output also used inside the graph', async () => {
    const x = tfl.input({ shape: [6, 6, 2], name: 'x' });
    const stem = conv(x, 3, 49, { name: 'stem', activation: 'relu' });
    const left = conv(stem, 3, 51, { name: 'left' });
    const right = conv(stem, 3, 53, { name: 'right', kernelSize: 1 });
    const both = tfl.layers.add({ name: 'both' }).apply([left, right, stem]) as Sym;
    const head = dense(tfl.layers.flatten({}).apply(both) as Sym, 2, 55, { name: 'head' });
    await expectSame(x, [head, stem, both]);
  });
});
