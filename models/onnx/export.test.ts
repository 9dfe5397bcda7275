import { setBackend } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_ACTIVATIONS } from './activations.ts';
import { compareWithTfjs } from './test-support.ts';

const TOLERANCE = 1e-5;
const kernel = (seed: number) => tfl.initializers.glorotUniform({ seed });
const bias = (seed: number) => tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });

beforeAll(async () => {
  await setBackend('cpu');
});

/** Exports `layers` as a Sequential model and expects ONNX to match tfjs. */
async function expectSame(layers: tfl.layers.Layer[], batch = 3): Promise<void> {
  const model = tfl.sequential({ layers });
  const { diff, tfjsShape, onnxShape } = await compareWithTfjs(model, { batch, seed: layers.length });
  expect(onnxShape).toEqual(tfjsShape);
  expect(diff).toBeLessThanOrEqual(TOLERANCE);
}

type ConvArgs = Parameters<typeof tfl.layers.conv2d>[0];
const conv = (config: Partial<ConvArgs> | Record<string, unknown>, seed = 1) =>
  tfl.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    kernelInitializer: kernel(seed),
    biasInitializer: bias(seed + 100),
    ...config,
  } as ConvArgs);

/** model.json stores activations in snake_case; tfjs takes its own identifiers. */
const tfjsActivation = (name: string) =>
  (name === 'gelu_new' ? name : name.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase())) as 'relu';

describe('exportOnnx: Dense and activations', () => {
  it.each(SUPPORTED_ACTIVATIONS)('Dense with activation %s', async (activation) => {
    await expectSame([
      tfl.layers.dense({
        inputShape: [7],
        units: 5,
        activation: tfjsActivation(activation),
        kernelInitializer: kernel(3),
        biasInitializer: bias(4),
      }),
    ]);
  });

  it('stacked Dense layers without bias, and Dense on a rank-3 input', async () => {
    await expectSame([
      tfl.layers.dense({ inputShape: [4, 6], units: 8, useBias: false, kernelInitializer: kernel(5) }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'tanh', kernelInitializer: kernel(6), biasInitializer: bias(7) }),
    ]);
  });
});

describe('exportOnnx: Conv2D', () => {
  const cases: [string, Record<string, unknown>][] = [];
  for (const padding of ['valid', 'same']) {
    for (const strides of [1, 2, [2, 1]]) {
      for (const kernelSize of [3, [2, 3]]) {
        cases.push([`${padding} strides ${strides} kernel ${kernelSize}`, { padding, strides, kernelSize }]);
      }
    }
  }
  it.each(cases)('%s, ending in Flatten (NHWC order)', async (_name, config) => {
    await expectSame([conv({ inputShape: [7, 8, 3], activation: 'relu', ...config }), tfl.layers.flatten()]);
  });

  it('without bias, with dilation 2, same padding, ending on the image (NHWC output)', async () => {
    await expectSame([
      conv({ inputShape: [9, 8, 2], useBias: false, padding: 'same', dilationRate: 2, activation: 'elu' }),
      conv({ filters: 3, kernelSize: 1, activation: 'sigmoid' }, 2),
    ]);
  });

  it('a small CNN: conv, pool, conv, flatten, dropout, dense softmax', async () => {
    await expectSame(
      [
        conv({ inputShape: [12, 12, 1], activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        conv({ filters: 6, padding: 'same', activation: 'relu' }, 2),
        tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
        tfl.layers.flatten(),
        tfl.layers.dropout({ rate: 0.5 }),
        tfl.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: kernel(9), biasInitializer: bias(10) }),
      ],
      5,
    );
  });
});

describe('exportOnnx: pooling', () => {
  const cases: [string, 'max' | 'avg', Record<string, unknown>][] = [];
  for (const kind of ['max', 'avg'] as const) {
    for (const padding of ['valid', 'same']) {
      for (const [poolSize, strides] of [
        [2, 2],
        [3, 1],
        [3, 2],
        [
          [2, 3],
          [2, 1],
        ],
      ]) {
        cases.push([`${kind} ${padding} pool ${poolSize} strides ${strides}`, kind, { poolSize, strides, padding }]);
      }
    }
  }
  it.each(cases)('%s', async (_name, kind, config) => {
    const layer = kind === 'max' ? tfl.layers.maxPooling2d : tfl.layers.averagePooling2d;
    await expectSame([layer({ inputShape: [7, 9, 2], ...config })]);
  });

  it.each([
    ['GlobalAveragePooling2D', tfl.layers.globalAveragePooling2d],
    ['GlobalMaxPooling2D', tfl.layers.globalMaxPooling2d],
  ])('%s after a Conv2D (NCHW) and on the raw input (NHWC)', async (_name, global) => {
    await expectSame([
      conv({ inputShape: [6, 5, 3] }),
      global({}),
      tfl.layers.dense({ units: 2, kernelInitializer: kernel(4) }),
    ]);
    await expectSame([global({ inputShape: [6, 5, 3] })]);
  });
});

describe('exportOnnx: activation and other layers', () => {
  it('Activation, ReLU (capped and plain), LeakyReLU, ELU and Softmax layers', async () => {
    await expectSame([
      tfl.layers.dense({ inputShape: [6], units: 8, kernelInitializer: kernel(11), biasInitializer: bias(12) }),
      tfl.layers.activation({ activation: 'gelu' }),
      tfl.layers.reLU({ maxValue: 0.4 }),
      tfl.layers.dense({ units: 8, kernelInitializer: kernel(13), biasInitializer: bias(14) }),
      tfl.layers.leakyReLU({ alpha: 0.1 }),
      tfl.layers.dense({ units: 8, kernelInitializer: kernel(15), biasInitializer: bias(16) }),
      tfl.layers.elu({}),
      tfl.layers.reLU({}),
      tfl.layers.softmax({}),
    ]);
  });

  it('Softmax layer and softmax activation over the channels of an NCHW conv output', async () => {
    await expectSame([conv({ inputShape: [5, 6, 2] }), tfl.layers.softmax({ axis: 3 })]);
    await expectSame([conv({ inputShape: [5, 6, 2], activation: 'softmax' }), tfl.layers.softmax({ axis: -1 })]);
  });

  it('BatchNormalization after Conv2D and after Dense, with trained statistics', async () => {
    const bn = (seed: number, extra: Record<string, unknown> = {}) =>
      tfl.layers.batchNormalization({
        gammaInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed }),
        betaInitializer: bias(seed + 1),
        movingMeanInitializer: bias(seed + 2),
        movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.2, maxval: 2, seed: seed + 3 }),
        ...extra,
      });
    await expectSame([
      conv({ inputShape: [6, 6, 2] }),
      bn(20),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 5, kernelInitializer: kernel(21) }),
      bn(30, { center: false, epsilon: 0.01 }),
      bn(40, { scale: false }),
    ]);
  });

  it('Reshape into an image, then Conv2D; noise and dropout layers are the identity', async () => {
    await expectSame([
      tfl.layers.dense({ inputShape: [5], units: 12, kernelInitializer: kernel(22), biasInitializer: bias(23) }),
      tfl.layers.gaussianNoise({ stddev: 1 }),
      tfl.layers.reshape({ targetShape: [3, 4] }),
      tfl.layers.spatialDropout1d({ rate: 0.3 }),
      tfl.layers.reshape({ targetShape: [2, 3, 2] }),
      conv({ kernelSize: 1 }),
      tfl.layers.gaussianDropout({ rate: 0.3 }),
      tfl.layers.alphaDropout({ rate: 0.3 }),
      tfl.layers.flatten(),
    ]);
    await expectSame([
      tfl.layers.dense({ inputShape: [5], units: 12, kernelInitializer: kernel(26), biasInitializer: bias(27) }),
      tfl.layers.reshape({ targetShape: [-1, 4] }),
    ]);
  });
});

describe('exportOnnx: names, shapes and functional models', () => {
  it('names the graph input after the InputLayer and the output after the last layer; batch is dynamic', async () => {
    const input = tfl.input({ shape: [6, 6, 1], name: 'pixels' });
    const hidden = conv({ padding: 'same', activation: 'relu', name: 'features' }).apply(input) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten({ name: 'flat' }).apply(hidden) as tfl.SymbolicTensor;
    const output = tfl.layers
      .dense({ units: 3, activation: 'softmax', name: 'scores', kernelInitializer: kernel(24) })
      .apply(flat) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    const { diff, tfjsShape, onnxShape, session } = await compareWithTfjs(model, { batch: 4 });
    expect(onnxShape).toEqual(tfjsShape);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
    expect(session.inputNames).toEqual(['pixels']);
    expect(session.outputNames).toEqual(['scores']);
    expect(session.inputMetadata[0]).toMatchObject({ isTensor: true, type: 'float32', shape: ['batch', 6, 6, 1] });
    expect(session.outputMetadata[0]).toMatchObject({ isTensor: true, type: 'float32', shape: ['batch', 3] });
  });

  it('takes input and output names from the options, and names a Sequential input <first layer>_input', async () => {
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [3], units: 2, name: 'only', kernelInitializer: kernel(25) })],
    });
    const plain = await compareWithTfjs(model);
    expect(plain.session.inputNames).toEqual(['only_input']);
    expect(plain.session.outputNames).toEqual(['only']);
    const named = await compareWithTfjs(model, { inputName: 'features', outputName: 'logits' });
    expect(named.session.inputNames).toEqual(['features']);
    expect(named.session.outputNames).toEqual(['logits']);
    expect(named.diff).toBeLessThanOrEqual(TOLERANCE);
  });
});
