/**
 * Edgeloop's own training kernels for tfjs 4.22.
 *
 * Why by hand: tfjs-cpu's Conv2DBackpropFilter and MaxPoolGrad are written for clarity (a
 * TensorBuffer.get call per multiply-add), so one epoch of the digits CNN takes about half an
 * hour, and tfjs-wasm registers no Conv2DBackpropFilter at all, so a CNN cannot train there.
 * No maintained library provides replacements, so we write the kernels training needs as
 * typed-array loops that give the reference results bit for bit (measurements in
 * models/digits/README.md). On tfjs-wasm, GatherV2 and BatchMatMul with a transposed operand
 * run about ten times slower than they need to, and a fine-tune's steps are mostly those (a
 * batch drawn, a dense layer's gradient): they are replaced too (gather.ts, batch-mat-mul.ts).
 */
import {
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  GatherV2,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  MaxPoolGrad,
  registerKernel,
  Sum,
  UnsortedSegmentSum,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import type { TrainingBackend } from './backend-io.ts';
import { batchMatMulKernel } from './batch-mat-mul.ts';
import { conv2dKernel } from './conv2d.ts';
import { conv2dBackpropFilterKernels } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputKernel } from './conv2d-backprop-input.ts';
import { fusedConv2dKernel } from './fused-conv2d.ts';
import { gatherKernel } from './gather.ts';
import { maxPoolGradKernel } from './max-pool-grad.ts';
import { sumKernel } from './sum.ts';
import { unsortedSegmentSumKernels } from './unsorted-segment-sum.ts';

export type { TrainingBackend } from './backend-io.ts';

/** A kernel to install; `make` receives the kernel it replaces (for the cases it leaves to it). */
interface Replacement {
  kernelName: string;
  make: (replaced: KernelFunc | undefined) => KernelConfig;
}

const KERNELS: Record<TrainingBackend, Replacement[]> = {
  cpu: [
    { kernelName: Conv2D, make: () => conv2dKernel },
    { kernelName: Conv2DBackpropFilter, make: () => conv2dBackpropFilterKernels.cpu },
    { kernelName: Conv2DBackpropInput, make: () => conv2dBackpropInputKernel },
    { kernelName: MaxPoolGrad, make: () => maxPoolGradKernel },
    { kernelName: FusedConv2D, make: (replaced) => fusedConv2dKernel(required(replaced)) },
    { kernelName: Sum, make: (replaced) => sumKernel(required(replaced)) },
    { kernelName: UnsortedSegmentSum, make: () => unsortedSegmentSumKernels.cpu },
  ],
  wasm: [
    { kernelName: Conv2DBackpropFilter, make: () => conv2dBackpropFilterKernels.wasm },
    { kernelName: UnsortedSegmentSum, make: () => unsortedSegmentSumKernels.wasm },
    { kernelName: GatherV2, make: (replaced) => gatherKernel(required(replaced)) },
    { kernelName: BatchMatMul, make: (replaced) => batchMatMulKernel(required(replaced)) },
  ],
};

/** The kernel a replacement falls back to; it exists once the backend's package is imported. */
function required(replaced: KernelFunc | undefined): KernelFunc {
  if (replaced === undefined) throw new Error("registerTrainingKernels: import the backend's package first");
  return replaced;
}

const installed = new WeakSet<KernelFunc>();

/**
 * Registers Edgeloop's hand-written training kernels on a tfjs backend, replacing slow
 * built-in ones and filling missing ones. Idempotent. Call it after the backend's package is
 * imported (its own registrations would otherwise replace these) and before training.
 *
 * @example
 * await tf.setBackend('wasm');
 * registerTrainingKernels('wasm');
 */
export function registerTrainingKernels(backend: TrainingBackend): void {
  for (const { kernelName, make } of KERNELS[backend]) {
    const current = getKernel(kernelName, backend);
    if (current !== undefined && installed.has(current.kernelFunc)) continue;
    const config = make(current?.kernelFunc);
    installed.add(config.kernelFunc);
    if (current !== undefined) unregisterKernel(kernelName, backend);
    registerKernel(config);
  }
}

/**
 * Names of the kernels `registerTrainingKernels(backend)` installs.
 *
 * @example
 * trainingKernelNames('wasm'); // ['Conv2DBackpropFilter', 'UnsortedSegmentSum', 'GatherV2', 'BatchMatMul']
 */
export function trainingKernelNames(backend: TrainingBackend): string[] {
  return KERNELS[backend].map((k) => k.kernelName);
}
