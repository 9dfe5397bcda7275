import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../../protocol/worker-api.ts';
import { withStorage } from '../db.ts';
import type { Runtime } from '../runtime.ts';
import type { Features, LearningCache } from './features.ts';
import { cloneHead, disposeWeights } from './head.ts';

/**
 * Largest difference allowed between WebGPU's and cpu's gradients, relative to the largest cpu
 * gradient. float32 kernels that sum in another order differ around 1e-6; a wrong kernel is off
 * by far more.
 */
export const GRADIENT_TOLERANCE = 1e-3;
/** Examples in the checked batch. */
const CHECK_BATCH = 32;

/** What the check reads of a learning cache (a federated fit has no full cache). */
type CachedHead = Pick<LearningCache, 'split' | 'registryWeights'>;

/** Where a fine-tune trains, and why not where it serves when they differ. */
export interface TrainingBackend {
  backend: BackendName;
  note?: string;
}

/**
 * The backend a fine-tune trains on: the serving one, except WebGPU, whose gradients are first
 * compared with cpu's on one batch of this head (once per adapter: the verdict is kept in
 * IndexedDB). Past the tolerance the fine-tune trains on the next backend (wasm, else cpu) and
 * says why; tfjs has devices where WebGPU gradients are wrong. On a software adapter
 * (`isFallbackAdapter`) it trains on the next backend too, which is faster there, and says so.
 *
 * @example
 * const { backend, note } = await trainingBackend(runtime, cache, user);
 */
export async function trainingBackend(runtime: Runtime, cache: CachedHead, user: Features): Promise<TrainingBackend> {
  const serving = runtime.backends.active ?? 'cpu';
  if (serving !== 'webgpu') return { backend: serving };
  const { env } = runtime;
  const adapter = env.webgpu.available ? `${env.webgpu.adapter.vendor}/${env.webgpu.adapter.architecture}` : 'none';
  const kept = await withStorage('read the gradient check', () => runtime.db.meta.get('gradientCheck'));
  let verdict = kept?.key === 'gradientCheck' && kept.value.adapter === adapter ? kept.value : null;
  if (!verdict) {
    const maxError = await compareWithCpu(runtime, cache, user);
    verdict = { adapter, ok: maxError <= GRADIENT_TOLERANCE, maxError, at: Date.now() };
    const value = verdict;
    await withStorage('store the gradient check', () => runtime.db.meta.put({ key: 'gradientCheck', value }));
  }
  const next: BackendName = env.wasm.available ? 'wasm' : 'cpu';
  if (!verdict.ok) {
    return {
      backend: next,
      note: `WebGPU gradients on ${adapter} differ from cpu's by ${verdict.maxError.toExponential(2)} (relative; tolerance ${GRADIENT_TOLERANCE}), so training ran on ${next}`,
    };
  }
  // A software adapter (SwiftShader) computes right but far slower than wasm: a fine-tune's
  // alignment search and fits took minutes there (bench/README.md: training 126× wasm's time).
  if (env.webgpu.available && env.webgpu.adapter.isFallbackAdapter) {
    return {
      backend: next,
      note: `WebGPU gradients on ${adapter} agree with cpu's, but it is a software adapter, so training ran on ${next}, which is faster there`,
    };
  }
  return { backend: 'webgpu' };
}

/**
 * The largest relative difference between the gradients of one batch's loss on the serving
 * backend and on cpu, each on its own copy of the head. Values are read asynchronously before
 * switching: tensors never move between backends.
 */
async function compareWithCpu(runtime: Runtime, cache: CachedHead, user: Features): Promise<number> {
  const serving = runtime.backends.active ?? 'cpu';
  const here = await batchGradients(cache, user);
  await runtime.backends.activate('cpu', runtime.env, runtime.backendConfig);
  try {
    const reference = await batchGradients(cache, user);
    let scale = 0;
    let worst = 0;
    reference.forEach((values, i) => {
      const other = here[i] as Float32Array;
      for (let j = 0; j < values.length; j++) {
        scale = Math.max(scale, Math.abs(values[j] as number));
        worst = Math.max(worst, Math.abs((values[j] as number) - (other[j] ?? Number.NaN)));
      }
    });
    return Number.isFinite(worst) ? worst / Math.max(scale, 1e-12) : Number.POSITIVE_INFINITY;
  } finally {
    await runtime.backends.activate(serving, runtime.env, runtime.backendConfig);
  }
}

async function batchGradients(cache: CachedHead, user: Features): Promise<Float32Array[]> {
  const { split } = cache;
  const head = cloneHead(split.layers, split.featureShape, cache.registryWeights);
  const n = Math.min(CHECK_BATCH, user.count);
  const classes = head.outputs[0]?.shape.at(-1) ?? 1;
  try {
    const grads = tf.tidy(() => {
      const x = tf.tensor(user.inputs.subarray(0, n * user.size), [n, ...split.featureShape]);
      const y = tf.oneHot(tf.tensor1d(user.labels.subarray(0, n), 'int32'), classes);
      const variables = head.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(() => {
        const p = head.apply(x, { training: false }) as tf.Tensor;
        return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(p, 1e-7, 1))), -1))) as tf.Scalar;
      }, variables);
      return variables.map((v) => grads[v.name] as tf.Tensor);
    });
    try {
      return (await Promise.all(grads.map((g) => g.data()))) as Float32Array[];
    } finally {
      tf.dispose(grads);
    }
  } finally {
    disposeWeights(head);
  }
}
