import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo, TypedArray } from '@tensorflow/tfjs-core';

/** The backends Edgeloop trains on with hand-written kernels. */
export type TrainingBackend = 'cpu' | 'wasm';

/** Output element types these kernels produce. */
export type OutputDtype = 'float32' | 'int32';

/**
 * Runs `compute` on the values of `inputs` and wraps what it writes into `out` as a tensor of
 * `shape` and `dtype` on `backend`. `compute` must write every element of `out` (on wasm it is
 * uninitialised heap memory). This hides the one difference between the backends that
 * matters here: cpu keeps JS typed arrays, wasm keeps tensors on its heap.
 *
 * @example
 * runOnBackend('cpu', backend, [x], x.shape, 'float32', ([xs], out) => out.set(xs));
 */
export function runOnBackend(
  kind: TrainingBackend,
  backend: unknown,
  inputs: readonly TensorInfo[],
  shape: number[],
  dtype: OutputDtype,
  compute: (values: TypedArray[], out: Float32Array | Int32Array) => void,
): TensorInfo {
  for (const input of inputs) {
    if (input.dtype !== 'float32' && input.dtype !== 'int32') {
      throw new Error(`Edgeloop training kernels take float32 or int32 tensors, got ${input.dtype}`);
    }
  }
  if (kind === 'cpu') {
    const cpu = backend as MathBackendCPU;
    const values = inputs.map((t) => cpu.data.get(t.dataId).values as TypedArray);
    const size = shape.reduce((a, b) => a * b, 1);
    const out = dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
    compute(values, out);
    return cpu.makeTensorInfo(shape, dtype, out);
  }
  const wasm = backend as BackendWasm;
  // Allocate first: a malloc may grow the wasm memory, which detaches earlier heap views.
  const output = wasm.makeOutput(shape, dtype);
  const values = inputs.map((t) => wasm.typedArrayFromHeap(t));
  compute(values, wasm.typedArrayFromHeap(output) as Float32Array | Int32Array);
  return output;
}
