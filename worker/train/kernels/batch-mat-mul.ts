import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  BatchMatMul,
  type BatchMatMulAttrs,
  type BatchMatMulInputs,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
  Transpose,
} from '@tensorflow/tfjs-core';

/**
 * Nanoseconds per element or multiply-add on tfjs-wasm 4.22 (SIMD, one thread; measured with
 * the shapes of a dense layer's gradients): XNNPACK's product and its packing of the right
 * operand (redone whenever that tensor is new, and tfjs saves a fresh copy of every input a
 * gradient needs), a transpose, and tfjs-wasm's loop for transposed operands.
 */
const COST = { fast: 0.07, pack: 2.5, transpose: 3, loop: 0.8 };

/** The permutation that swaps a tensor's last two axes. */
function swapLast(rank: number): number[] {
  return [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
}

/**
 * How `op(A)·op(B)` ([m, k]·[k, n] per batch) is cheapest: tfjs-wasm's own loop, XNNPACK after
 * transposing the flagged operands, or XNNPACK on `(op(B)ᵀ·op(A)ᵀ)ᵀ`.
 */
export function matMulPlan(
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
): 'loop' | 'direct' | 'reversed' {
  const { fast, pack, transpose, loop } = COST;
  const costs = {
    loop: loop * m * k * n,
    direct: transpose * ((transposeA ? m * k : 0) + (transposeB ? k * n : 0)) + pack * k * n + fast * m * k * n,
    reversed:
      transpose * ((transposeA ? 0 : m * k) + (transposeB ? 0 : k * n) + m * n) + pack * k * m + fast * m * k * n,
  };
  const best = Math.min(costs.loop, costs.direct, costs.reversed);
  return best === costs.loop ? 'loop' : best === costs.direct ? 'direct' : 'reversed';
}

/**
 * BatchMatMul for tfjs-wasm with a transposed operand. tfjs-wasm 4.22 multiplies with XNNPACK
 * only when neither operand is transposed; otherwise it runs a plain loop about ten times
 * slower (4.3 ms for the 800×32 kernel gradient of a dense layer over 256 rows, against 1.1 ms
 * by transposing first), and every dense layer's gradient is such a product. So this picks
 * the cheapest of the loop, transposing the flagged operands first, or computing the transposed
 * product ({@link matMulPlan}). Untransposed products go to `replaced` as they are.
 *
 * @example
 * registerKernel(batchMatMulKernel(getKernel('BatchMatMul', 'wasm').kernelFunc));
 */
export function batchMatMulKernel(replaced: KernelFunc): KernelConfig {
  return {
    kernelName: BatchMatMul,
    backendName: 'wasm',
    kernelFunc: (args): TensorInfo | TensorInfo[] => {
      const { a, b } = args.inputs as BatchMatMulInputs;
      const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
      if (a === undefined || b === undefined) throw new Error('BatchMatMul needs a and b');
      const transpose = getKernel(Transpose, 'wasm')?.kernelFunc;
      if ((!transposeA && !transposeB) || transpose === undefined) return replaced(args);
      const [m, k] = (transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2)) as [number, number];
      const n = (transposeB ? b.shape.at(-2) : b.shape.at(-1)) as number;
      const way = matMulPlan(m, k, n, transposeA, transposeB);
      if (way === 'loop') return replaced(args);
      const backend = args.backend as BackendWasm;
      const temporary: TensorInfo[] = [];
      const swapped = (x: TensorInfo): TensorInfo => {
        const out = transpose({ inputs: { x }, backend, attrs: { perm: swapLast(x.shape.length) } }) as TensorInfo;
        temporary.push(out);
        return out;
      };
      const untransposed = { transposeA: false, transposeB: false } as unknown as NamedAttrMap;
      const multiply = (left: TensorInfo, right: TensorInfo) =>
        replaced({ inputs: { a: left, b: right }, backend, attrs: untransposed }) as TensorInfo;
      try {
        if (way === 'direct') return multiply(transposeA ? swapped(a) : a, transposeB ? swapped(b) : b);
        const product = multiply(transposeB ? b : swapped(b), transposeA ? a : swapped(a));
        temporary.push(product);
        return transpose({ inputs: { x: product }, backend, attrs: { perm: swapLast(product.shape.length) } });
      } finally {
        for (const t of temporary) backend.disposeData(t.dataId);
      }
    },
  };
}
