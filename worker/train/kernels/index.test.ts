import '@tensorflow/tfjs-backend-cpu';
import {
  getKernel,
  type KernelFunc,
  losses,
  oneHot,
  setBackend,
  type Tensor,
  tensor1d,
  tensor4d,
  tidy,
  variableGrads,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildDigitsModel } from '../../../models/digits/model.ts';
import { registerTrainingKernels, trainingKernelNames } from './index.ts';
import { firstBitDifference, testValues } from './test-support.ts';

beforeAll(async () => {
  await setBackend('cpu');
});

const kernelFuncs = (names: string[]): (KernelFunc | undefined)[] => names.map((n) => getKernel(n, 'cpu')?.kernelFunc);

describe('registerTrainingKernels', () => {
  it("gives bit-identical gradients for a training step of the digits CNN to tfjs-cpu's own kernels", () => {
    const model = buildDigitsModel();
    const x = tensor4d(testValues(4 * 28 * 28, 31, { zeros: 0.8 }).map(Math.abs), [4, 28, 28, 1]);
    const y = tidy(() => oneHot(tensor1d([3, 1, 4, 1], 'int32'), 10));
    const gradients = () =>
      tidy(() => {
        const { value, grads } = variableGrads(() =>
          losses.softmaxCrossEntropy(y, model.apply(x, { training: false }) as Tensor),
        );
        return [
          value,
          ...Object.keys(grads)
            .sort()
            .map((name) => grads[name] as Tensor),
        ].map((t) => t.dataSync().slice() as Float32Array);
      });
    const before = kernelFuncs(trainingKernelNames('cpu'));
    const expected = gradients();
    registerTrainingKernels('cpu');
    const after = kernelFuncs(trainingKernelNames('cpu'));
    const actual = gradients();
    x.dispose();
    y.dispose();
    model.dispose();
    for (const [i, f] of after.entries()) expect(f).not.toBe(before[i]);
    expect(actual.length).toBe(expected.length);
    for (const [i, values] of actual.entries())
      expect(firstBitDifference(values, expected[i] as Float32Array)).toBe(-1);
  });

  it('is idempotent: a second call changes nothing and warns about nothing', () => {
    registerTrainingKernels('cpu');
    const first = kernelFuncs(trainingKernelNames('cpu'));
    const warn = vi.spyOn(console, 'warn');
    registerTrainingKernels('cpu');
    expect(kernelFuncs(trainingKernelNames('cpu'))).toEqual(first);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});
