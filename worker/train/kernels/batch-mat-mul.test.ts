import '@tensorflow/tfjs-backend-wasm';
import { env, getKernel, type KernelFunc, setBackend, tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchMatMulKernel, matMulPlan } from './batch-mat-mul.ts';
import { nonZeroCount, runKernelFunc, testValues } from './test-support.ts';

let builtIn: KernelFunc;
let ours: KernelFunc;

beforeAll(async () => {
  env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await setBackend('wasm');
  builtIn = getKernel('BatchMatMul', 'wasm').kernelFunc;
  ours = batchMatMulKernel(builtIn).kernelFunc;
});

describe('matMulPlan', () => {
  it('transposes where that is cheaper than the loop, and keeps the loop for a matrix times a vector', () => {
    // A dense layer's kernel gradient, 800 features × 32 units over 256 rows: xᵀ·dy.
    expect(matMulPlan(800, 256, 32, true, false)).not.toBe('loop');
    // A logistic regression's gradient over 756 rows of 804 features: xᵀ·r, one column.
    expect(matMulPlan(804, 756, 1, true, false)).toBe('loop');
  });
});

const CASES = [
  {
    name: 'xᵀ·dy (a dense kernel gradient)',
    a: [256, 80],
    b: [256, 32],
    transposeA: true,
    transposeB: false,
    plan: 'direct',
  },
  {
    name: 'dy·Wᵀ (a dense input gradient)',
    a: [64, 10],
    b: [32, 10],
    transposeA: false,
    transposeB: true,
    plan: 'direct',
  },
  {
    name: 'both transposed, batched',
    a: [3, 40, 24],
    b: [3, 16, 40],
    transposeA: true,
    transposeB: true,
    plan: 'reversed',
  },
  { name: 'xᵀ·r', a: [120, 60], b: [120, 1], transposeA: true, transposeB: false, plan: 'loop' },
];

describe('BatchMatMul on wasm', () => {
  it.each(CASES)('equals tfjs-wasm’s own to float rounding: $name ($plan)', (c) => {
    const m = c.transposeA ? c.a.at(-1) : c.a.at(-2);
    const k = c.transposeA ? c.a.at(-2) : c.a.at(-1);
    const n = c.transposeB ? c.b.at(-2) : c.b.at(-1);
    expect(matMulPlan(m as number, k as number, n as number, c.transposeA, c.transposeB)).toBe(c.plan);
    const a = tensor(
      testValues(
        c.a.reduce((x, y) => x * y),
        11,
      ),
      c.a,
    );
    const b = tensor(
      testValues(
        c.b.reduce((x, y) => x * y),
        12,
      ),
      c.b,
    );
    const attrs = { transposeA: c.transposeA, transposeB: c.transposeB };
    const expected = runKernelFunc(builtIn, { a, b }, attrs);
    const actual = runKernelFunc(ours, { a, b }, attrs);
    a.dispose();
    b.dispose();
    expect(nonZeroCount(expected)).toBeGreaterThan(expected.length / 2);
    expect(actual.length).toBe(expected.length);
    let worst = 0;
    expected.forEach((v, i) => {
      worst = Math.max(worst, Math.abs((actual[i] as number) - v) / (1 + Math.abs(v)));
    });
    expect(worst).toBeLessThan(1e-5);
  });
});
