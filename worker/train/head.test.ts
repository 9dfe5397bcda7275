import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDigitsModel } from '../../models/digits/model.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import {
  buildGate,
  cloneHead,
  disposeWeights,
  mixProbabilities,
  personalModel,
  readWeights,
  setStoredWeights,
  splitHead,
} from './head.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('splitHead', () => {
  it('finds the dense head of the digits CNN and the features it reads', () => {
    const model = buildDigitsModel();
    const split = splitHead(model);
    expect(split.layers.map((l) => l.getClassName())).toEqual(['Flatten', 'Dropout', 'Dense', 'Dense']);
    expect(split.featureShape).toEqual([5, 5, 32]);
    expect(split.featureSize).toBe(800);
    const features = split.extractor?.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor;
    expect(features.shape).toEqual([2, 5, 5, 32]);
    model.dispose();
  });

  it('takes a whole MLP as the head: its features are its inputs', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [6], units: 8, activation: 'relu' }),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const split = splitHead(model);
    expect(split.extractor).toBeNull();
    expect(split.featureShape).toEqual([6]);
    expect(split.layers).toHaveLength(2);
    model.dispose();
  });

  it('refuses a model that ends without dense layers, or has several outputs, with UNSUPPORTED_MODEL', () => {
    const conv = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3 }),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.softmax(),
      ],
    });
    const error = (() => {
      try {
        splitHead(conv);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EdgeloopError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_MODEL' });
    expect(String((error as Error).message)).toMatch(/needs dense layers at the model's end \(it ends with Softmax\)/);
    const input = tfl.input({ shape: [4] });
    const two = tfl.model({
      inputs: input,
      outputs: [
        tfl.layers.dense({ units: 2 }).apply(input),
        tfl.layers.dense({ units: 3 }).apply(input),
      ] as tfl.SymbolicTensor[],
    });
    expect(() => splitHead(two)).toThrow(/needs one output/);
  });

  it('splits a model of two inputs after the layer that joins them', () => {
    const a = tfl.input({ shape: [3] });
    const b = tfl.input({ shape: [2] });
    const joined = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
    const hidden = tfl.layers.dense({ units: 4, activation: 'relu' }).apply(joined);
    const model = tfl.model({
      inputs: [a, b],
      outputs: tfl.layers.dense({ units: 2 }).apply(hidden) as tfl.SymbolicTensor,
    });
    const split = splitHead(model);
    expect(split).toMatchObject({ featureShape: [5], featureSize: 5 });
    expect(split.layers.map((layer) => layer.getClassName())).toEqual(['Dense', 'Dense']);
    expect(split.extractor?.inputs).toHaveLength(2);
  });
});

describe('personalModel', () => {
  it('answers as the registry where the gate is 0 and as the personal head where it is 1, leaving the registry model intact', async () => {
    const model = buildDigitsModel();
    const split = splitHead(model);
    const weights = await readWeights(split.layers);
    // A personal head that differs: every weight doubled.
    const head = cloneHead(
      split.layers,
      split.featureShape,
      weights.map((w) => ({ ...w, values: w.values.map((x) => 2 * x) })),
    );
    const gate = buildGate(split.featureShape);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 1);
    const registry = model.predict(x) as tf.Tensor;
    const personalOnly = head.predict(split.extractor?.predict(x) as tf.Tensor) as tf.Tensor;
    const served = personalModel(model, split, { head, gate, strength: 1, kind: 'log' });

    // Gate kernel 0 and bias −30: weight ≈ 1e-13.
    const [kernel = [], bias = []] = readWeightsShapes(gate);
    setStoredWeights(gate, [
      { shape: kernel, values: new Float32Array(kernel.reduce((a, b) => a * b, 1)) },
      { shape: bias, values: Float32Array.from([-30]) },
    ]);
    expectClose(served.predict(x) as tf.Tensor, registry);
    setStoredWeights(gate, [
      { shape: kernel, values: new Float32Array(kernel.reduce((a, b) => a * b, 1)) },
      { shape: bias, values: Float32Array.from([30]) },
    ]);
    expectClose(served.predict(x) as tf.Tensor, personalOnly);

    disposeWeights(head);
    disposeWeights(gate);
    expectClose(model.predict(x) as tf.Tensor, registry);
    model.dispose();
  });
});

describe('mixProbabilities', () => {
  const mix = (registry: number[], personal: number[], w: number) => {
    const out = new Float32Array(registry.length);
    mixProbabilities(Float32Array.from(registry), Float32Array.from(personal), w, out);
    return Array.from(out);
  };

  it('is the registry at weight 0 and the personal head at weight 1, and sums to 1 between', () => {
    mix([0.7, 0.2, 0.1], [0.1, 0.3, 0.6], 0).forEach((p, k) => {
      expect(p).toBeCloseTo([0.7, 0.2, 0.1][k] as number, 6);
    });
    mix([0.7, 0.2, 0.1], [0.1, 0.3, 0.6], 1).forEach((p, k) => {
      expect(p).toBeCloseTo([0.1, 0.3, 0.6][k] as number, 6);
    });
    expect(mix([0.7, 0.2, 0.1], [0.1, 0.3, 0.6], 0.4).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
  });

  it('lets the sure one decide: a confident registry answer survives a hesitant personal head, and the reverse', () => {
    // Mixed linearly at 0.8 these would pick class 1 (0.48 against 0.44).
    const kept = mix([0.99, 0.005, 0.005], [0.3, 0.6, 0.1], 0.8);
    expect(kept.indexOf(Math.max(...kept))).toBe(0);
    const overridden = mix([0.4, 0.35, 0.25], [0.02, 0.96, 0.02], 0.5);
    expect(overridden.indexOf(Math.max(...overridden))).toBe(1);
  });
});

function readWeightsShapes(model: tfl.LayersModel): number[][] {
  return model.layers.flatMap((layer) => layer.weights.map((w) => w.shape as number[]));
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor): void {
  const a = actual.dataSync();
  const e = expected.dataSync();
  expect(a.length).toBe(e.length);
  for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(e[i] as number, 5);
}
