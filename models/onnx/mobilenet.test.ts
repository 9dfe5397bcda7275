import { setBackend, type Tensor, tensor } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithTfjs, maxAbsDiff, randomInput } from './test-support.ts';

type Sym = tfl.SymbolicTensor;

/** Seeds for every initializer, so the model is the same on every run. */
let seed = 0;
const next = () => ++seed;
const kernel = () => tfl.initializers.heNormal({ seed: next() });
const uniform = (minval: number, maxval: number) => tfl.initializers.randomUniform({ minval, maxval, seed: next() });

/** BatchNormalization with trained-looking statistics (tfjs initialises them to 0 and 1). */
const bn = (x: Sym, name: string) =>
  tfl.layers
    .batchNormalization({
      name,
      epsilon: 1e-3,
      gammaInitializer: uniform(0.6, 1.2),
      betaInitializer: uniform(-0.3, 0.3),
      movingMeanInitializer: uniform(-0.4, 0.4),
      movingVarianceInitializer: uniform(0.5, 2),
    })
    .apply(x) as Sym;
const relu6 = (x: Sym, name: string) => tfl.layers.reLU({ maxValue: 6, name }).apply(x) as Sym;
const pointwise = (x: Sym, filters: number, name: string) =>
  tfl.layers.conv2d({ filters, kernelSize: 1, useBias: false, kernelInitializer: kernel(), name }).apply(x) as Sym;

/**
 * One inverted residual block as Keras' MobileNetV2 builds it: 1×1 expand + BN + ReLU6 (unless
 * expansion 1), 3×3 depthwise + BN + ReLU6 (strided ones after ZeroPadding2D, valid padding),
 * 1×1 linear projection + BN, and the residual Add when shapes allow.
 */
function invertedResidual(x: Sym, expansion: number, filters: number, stride: 1 | 2, id: number): Sym {
  const channels = x.shape[3] as number;
  const p = `block_${id}`;
  let y = x;
  if (expansion !== 1)
    y = relu6(bn(pointwise(y, channels * expansion, `${p}_expand`), `${p}_expand_BN`), `${p}_expand_relu`);
  if (stride === 2)
    y = tfl.layers
      .zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: `${p}_pad`,
      })
      .apply(y) as Sym;
  y = tfl.layers
    .depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      padding: stride === 2 ? 'valid' : 'same',
      useBias: false,
      // He for a 3×3 window (tfjs' heNormal counts every channel into fan-in; depthwise sees one).
      depthwiseInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / 9), seed: next() }),
      name: `${p}_depthwise`,
    })
    .apply(y) as Sym;
  y = relu6(bn(y, `${p}_depthwise_BN`), `${p}_depthwise_relu`);
  y = bn(pointwise(y, filters, `${p}_project`), `${p}_project_BN`);
  return stride === 1 && channels === filters ? (tfl.layers.add({ name: `${p}_add` }).apply([x, y]) as Sym) : y;
}

/** A MobileNetV2-shaped classifier on 96×96×3: stem, 7 inverted residual blocks, 1×1 head, pooling, Dense, Softmax. */
function mobileNetV2Shaped(): tfl.LayersModel {
  seed = 0;
  const input = tfl.input({ shape: [96, 96, 3], name: 'image' });
  let x = tfl.layers
    .conv2d({
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: kernel(),
      name: 'Conv1',
    })
    .apply(input) as Sym;
  x = relu6(bn(x, 'bn_Conv1'), 'Conv1_relu');
  const blocks: [number, number, 1 | 2][] = [
    [1, 8, 1],
    [4, 12, 2],
    [4, 12, 1],
    [4, 16, 2],
    [4, 16, 1],
    [4, 16, 1],
    [4, 24, 1],
  ];
  blocks.forEach(([expansion, filters, stride], i) => {
    x = invertedResidual(x, expansion, filters, stride, i);
  });
  const features = relu6(bn(pointwise(x, 64, 'Conv_1'), 'Conv_1_bn'), 'out_relu');
  x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(features) as Sym;
  const logits = tfl.layers
    .dense({
      units: 10,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: next() }),
      biasInitializer: uniform(-0.1, 0.1),
      name: 'logits',
    })
    .apply(x) as Sym;
  const probabilities = tfl.layers.softmax({ name: 'probabilities' }).apply(logits) as Sym;
  // The 12×12×64 feature map is an output too: pooling averages away most of what the input
  // changes, the map keeps it (and its NHWC order).
  return tfl.model({ inputs: input, outputs: [probabilities, logits, features], name: 'mobilenet_v2_shaped' });
}

beforeAll(async () => {
  await setBackend('cpu');
});

describe('exportOnnx: a MobileNetV2-shaped functional model end to end', () => {
  it('matches tfjs on a seeded batch (probabilities, logits and the last feature map within 1e-5)', async () => {
    const model = mobileNetV2Shaped();
    expect(model.layers.filter((l) => l.getClassName() === 'Add')).toHaveLength(3);
    const { outputs, session } = await compareWithTfjs(model, { batch: 2, seed: 96 });
    expect(session.inputNames).toEqual(['image']);
    expect(session.outputNames).toEqual(['probabilities', 'logits', 'out_relu']);
    expect(outputs.map((o) => o.onnxShape)).toEqual([
      [2, 10],
      [2, 10],
      [2, 12, 12, 64],
    ]);
    for (const { diff, tfjsShape, onnxShape } of outputs) {
      expect(onnxShape).toEqual(tfjsShape);
      expect(diff).toBeLessThanOrEqual(1e-5);
    }
    // The feature map depends on the input (so agreeing on it means something).
    const [first, second] = [96, 97].map((s) => {
      const [, , map] = model.predict(tensor(randomInput(96 * 96 * 3, s), [1, 96, 96, 3])) as Tensor[];
      return map?.dataSync() as Float32Array;
    });
    expect(maxAbsDiff(first as Float32Array, second as Float32Array)).toBeGreaterThan(0.5);
  });
});
