import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  env,
  getKernel,
  oneHot,
  profile,
  setBackend,
  tensor1d,
  tensor4d,
  tidy,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDigitsModel } from '../../../models/digits/model.ts';
import { registerTrainingKernels, trainingKernelNames } from './index.ts';
import { CONV_CASES, firstBitDifference, nonZeroCount, runKernelFunc, testValues } from './test-support.ts';

/** One fit() step of the digits CNN on 8 random images; returns the first conv kernel before and after. */
async function fitOneStep(): Promise<{ loss: number; before: Float32Array; after: Float32Array }> {
  const model = buildDigitsModel();
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tensor4d(testValues(8 * 28 * 28, 21, { zeros: 0.8 }).map(Math.abs), [8, 28, 28, 1]);
  const y = tidy(() => oneHot(tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10));
  const firstKernel = () => {
    const weights = model.layers[0]?.getWeights()[0];
    if (weights === undefined) throw new Error('the digits CNN has no first layer weights');
    return weights.dataSync().slice() as Float32Array;
  };
  const before = firstKernel();
  try {
    const history = await model.fit(x, y, { batchSize: 8, epochs: 1, verbose: 0 });
    const after = firstKernel();
    return { loss: history.history.loss?.[0] as number, before, after };
  } finally {
    x.dispose();
    y.dispose();
    model.dispose();
  }
}

beforeAll(async () => {
  // The threaded build needs COOP/COEP and a worker script; Edgeloop runs wasm single-threaded.
  env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await setBackend('wasm');
});

describe('training kernels on tfjs-wasm', () => {
  it('wasm lacks exactly Conv2DBackpropFilter among the kernels a fit() of the digits CNN runs', async () => {
    await setBackend('cpu');
    registerTrainingKernels('cpu'); // the same kernel names run, only faster
    const { kernelNames } = await profile(async () => {
      await fitOneStep();
    });
    await setBackend('wasm');
    // The profile also names op scopes (e.g. fusedMatMul__op); keep the cpu kernels that ran.
    const kernels = kernelNames.filter((name) => getKernel(name, 'cpu') !== undefined);
    expect(kernels).toContain('Conv2D');
    expect(kernels.filter((name) => getKernel(name, 'wasm') === undefined)).toEqual(['Conv2DBackpropFilter']);
    expect(trainingKernelNames('wasm')).toEqual([
      'Conv2DBackpropFilter',
      'UnsortedSegmentSum',
      'GatherV2',
      'BatchMatMul',
    ]);
  });

  it('fit() fails on wasm without the kernels', async () => {
    await expect(fitOneStep()).rejects.toThrow(/Conv2DBackpropFilter/);
  });

  it('Conv2DBackpropFilter on wasm equals the tfjs-cpu reference bit for bit', async () => {
    registerTrainingKernels('wasm');
    for (const c of CONV_CASES) {
      const format = c.dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst';
      const info = backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, false, format);
      const outShape = info.outShape as [number, number, number, number];
      const xValues = testValues(
        info.inShape.reduce((a, b) => a * b),
        22,
      );
      const dyValues = testValues(
        outShape.reduce((a, b) => a * b),
        23,
        { zeros: 0.7 },
      );
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, filterShape: c.filter };
      const run = async (backendName: 'cpu' | 'wasm') => {
        await setBackend(backendName);
        const x = tensor4d(xValues, c.x);
        const dy = tensor4d(dyValues, outShape);
        const out = runKernelFunc(getKernel('Conv2DBackpropFilter', backendName).kernelFunc, { x, dy }, attrs);
        x.dispose();
        dy.dispose();
        return out;
      };
      const expected = await run('cpu');
      const actual = await run('wasm');
      expect(nonZeroCount(expected), c.name).toBeGreaterThan(expected.length / 2);
      expect(firstBitDifference(actual, expected), c.name).toBe(-1);
    }
  });

  it('fit() trains the digits CNN on wasm with the kernels registered', async () => {
    registerTrainingKernels('wasm');
    await setBackend('wasm');
    const { loss, before, after } = await fitOneStep();
    expect(Number.isFinite(loss)).toBe(true);
    expect(firstBitDifference(after, before)).not.toBe(-1);
  });
});
