import { setBackend } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from './export.ts';
import { compareOnnx, compareWithTfjs, saveArtifacts } from './test-support.ts';

const TOLERANCE = 1e-5;
const kernel = (seed: number) => tfl.initializers.glorotUniform({ seed });
const bias = (seed: number) => tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });

beforeAll(async () => {
  await setBackend('cpu');
});

async function expectSame(layers: tfl.layers.Layer[], batch = 3): Promise<void> {
  const model = tfl.sequential({ layers });
  const { diff, tfjsShape, onnxShape } = await compareWithTfjs(model, { batch, seed: layers.length + 7 });
  expect(onnxShape).toEqual(tfjsShape);
  expect(diff).toBeLessThanOrEqual(TOLERANCE);
}

const conv = (config: Record<string, unknown>, seed = 1) =>
  tfl.layers.conv2d({
    filters: 3,
    kernelSize: 3,
    kernelInitializer: kernel(seed),
    biasInitializer: bias(seed + 1),
    ...config,
  } as Parameters<typeof tfl.layers.conv2d>[0]);
const depthwise = (config: Record<string, unknown>, seed = 11) =>
  tfl.layers.depthwiseConv2d({
    kernelSize: 3,
    depthwiseInitializer: kernel(seed),
    biasInitializer: bias(seed + 1),
    ...config,
  } as Parameters<typeof tfl.layers.depthwiseConv2d>[0]);

describe('exportOnnx: DepthwiseConv2D', () => {
  const cases: [string, Record<string, unknown>][] = [];
  for (const padding of ['valid', 'same']) {
    for (const strides of [1, 2, [2, 1]]) {
      for (const depthMultiplier of [1, 2]) {
        cases.push([
          `${padding} strides ${strides} multiplier ${depthMultiplier}`,
          { padding, strides, depthMultiplier },
        ]);
      }
    }
  }
  it.each(cases)('%s, on the NHWC input, ending in Flatten', async (_name, config) => {
    await expectSame([depthwise({ inputShape: [7, 8, 3], activation: 'relu', ...config }), tfl.layers.flatten()]);
  });

  it('after a Conv2D (NCHW), a [2, 3] kernel, no bias, relu6, ending on the image', async () => {
    await expectSame([
      conv({ inputShape: [9, 7, 2], padding: 'same' }),
      depthwise({ kernelSize: [2, 3], useBias: false, activation: 'relu6', depthMultiplier: 3, padding: 'same' }),
      depthwise({ strides: 2, activation: 'sigmoid' }, 21),
    ]);
  });
});

describe('exportOnnx: SeparableConv2D', () => {
  const separable = (config: Record<string, unknown>, seed = 31) =>
    tfl.layers.separableConv2d({
      filters: 4,
      kernelSize: 3,
      depthwiseInitializer: kernel(seed),
      pointwiseInitializer: kernel(seed + 1),
      biasInitializer: bias(seed + 2),
      ...config,
    } as Parameters<typeof tfl.layers.separableConv2d>[0]);

  it.each([
    ['valid, strides 1', { padding: 'valid' }],
    ['same, strides 2, multiplier 2', { padding: 'same', strides: 2, depthMultiplier: 2 }],
    ['valid, strides [1, 2], [3, 2] kernel', { strides: [1, 2], kernelSize: [3, 2] }],
    ['same, dilation 2', { padding: 'same', dilationRate: 2, activation: 'tanh' }],
    ['valid, dilation [2, 1], no bias', { dilationRate: [2, 1], useBias: false, activation: 'relu' }],
  ])('%s', async (_name, config) => {
    await expectSame([separable({ inputShape: [9, 8, 3], ...config }), tfl.layers.flatten()]);
    await expectSame([conv({ inputShape: [9, 8, 2] }), separable(config, 41)]);
  });
});

describe('exportOnnx: ZeroPadding2D', () => {
  it.each<[string, Parameters<typeof tfl.layers.zeroPadding2d>[0]]>([
    ['the default 1', {}],
    ['2', { padding: 2 }],
    ['[1, 2] (rows, columns)', { padding: [1, 2] }],
    [
      '[[0, 1], [2, 3]] (asymmetric)',
      {
        padding: [
          [0, 1],
          [2, 3],
        ],
      },
    ],
  ])('padding %s, on the NHWC input and after a Conv2D (NCHW)', async (_name, config) => {
    await expectSame([tfl.layers.zeroPadding2d({ inputShape: [4, 5, 2], ...config }), tfl.layers.flatten()]);
    await expectSame([conv({ inputShape: [5, 5, 2] }), tfl.layers.zeroPadding2d(config), depthwise({ strides: 2 })]);
  });
});

describe('exportOnnx: ReLU, GlobalAveragePooling2D and BatchNormalization on images', () => {
  it('ReLU with max_value 6 after a Conv2D, and a capped ReLU on the raw input', async () => {
    await expectSame([conv({ inputShape: [5, 6, 2] }, 51), tfl.layers.reLU({ maxValue: 6 }), tfl.layers.flatten()]);
    await expectSame([tfl.layers.reLU({ inputShape: [5, 6, 2], maxValue: 1.5 })]);
  });

  it('GlobalAveragePooling2D with Keras keepdims gives [batch, 1, 1, C]', async () => {
    const model = tfl.sequential({ layers: [conv({ inputShape: [6, 5, 2] }), tfl.layers.globalAveragePooling2d({})] });
    const { modelJson, shards } = await saveArtifacts(model);
    const layers = (modelJson.modelTopology.config as { layers: { config: Record<string, unknown> }[] }).layers;
    (layers[1] as { config: Record<string, unknown> }).config.keepdims = true;
    const { diff, tfjsShape, onnxShape } = await compareOnnx(model, exportOnnx(modelJson, shards));
    expect(tfjsShape).toEqual([3, 3]);
    expect(onnxShape).toEqual([3, 1, 1, 3]);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('BatchNormalization on the NHWC input and after a Conv2D, with center and scale off', async () => {
    const bn = (seed: number, extra: Record<string, unknown> = {}) =>
      tfl.layers.batchNormalization({
        gammaInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed }),
        betaInitializer: bias(seed + 1),
        movingMeanInitializer: bias(seed + 2),
        movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.2, maxval: 2, seed: seed + 3 }),
        ...extra,
      });
    await expectSame([
      bn(60, { inputShape: [5, 4, 3], axis: 3 }),
      conv({ padding: 'same' }, 61),
      bn(70, { center: false }),
      bn(80, { scale: false, epsilon: 0.01 }),
      bn(90, { center: false, scale: false }),
    ]);
  });
});
