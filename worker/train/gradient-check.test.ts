import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { userStyle } from '../../models/digits/user-styles.ts';
import { seededRandom } from '../../protocol/random.ts';
import { BackendRegistry } from '../backends/registry.ts';
import { cpuBackend, wasmBackend } from '../backends/tfjs-backends.ts';
import type { RuntimeEnv } from '../env.ts';
import { holdoutDigits, publishDigits } from '../test/digits.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { startWorker } from '../test/harness.ts';
import { registerTrainingKernels } from './kernels/index.ts';

// Node has no WebGPU: a tfjs backend registered under that name, running cpu's kernels, stands
// in for it; a test then breaks its matrix product the way a faulty GPU driver would.
const FAKE_ADAPTER = { architecture: 'test-gpu', vendor: 'edgeloop', isFallbackAdapter: false };
const env: RuntimeEnv = {
  webgpu: { available: true, adapter: FAKE_ADAPTER },
  wasm: { available: true, simd: true },
  indexedDB: true,
  scriptUrl: null,
};
const fakeWebgpu = {
  name: 'webgpu' as const,
  priority: 3,
  isAvailable: () => ({ ok: true as const }),
  async setup() {
    if (!(await tf.setBackend('webgpu'))) throw new Error('the stand-in webgpu backend did not start');
  },
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerTrainingKernels('cpu');
  tf.registerBackend('webgpu', () => new MathBackendCPU());
  for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'webgpu' });
});

const realRandom = Math.random;
beforeEach(() => {
  Math.random = seededRandom(20251129);
});
afterEach(() => {
  Math.random = realRandom;
});

async function trainOnFakeWebgpu(adapter = FAKE_ADAPTER) {
  const edge = new FakeEdge();
  await publishDigits(edge);
  const worker = await startWorker({
    edge,
    backend: 'webgpu',
    deps: {
      detectEnv: async () => ({ ...env, webgpu: { available: true, adapter } }),
      backends: () => new BackendRegistry().register(fakeWebgpu).register(wasmBackend).register(cpuBackend),
    },
  });
  await worker.api.load({ v: 1, model: 'digits' });
  const digits = holdoutDigits();
  const random = seededRandom(2);
  const { apply } = userStyle('inverted');
  for (let i = 0; i < 30; i++) {
    const { predictionId } = await worker.api.predict(apply(digits.images[i] ?? new Float32Array(784), random));
    await worker.api.feedback(predictionId, digits.labels[i] ?? 0);
  }
  const result = await worker.api.train({ v: 1, epochs: 3 });
  const check = await worker.db().meta.get('gradientCheck');
  const status = await worker.api.status();
  await worker.api.dispose();
  return { result, check, status };
}

describe('WebGPU training you can trust', () => {
  it('trains on WebGPU when its gradients match cpu’s, and keeps the verdict for the adapter', async () => {
    const { result, check, status } = await trainOnFakeWebgpu();
    expect(result.backend).toBe('webgpu');
    expect(result.note).not.toMatch(/gradients/);
    expect(check?.value).toMatchObject({ adapter: 'edgeloop/test-gpu', ok: true });
    expect(status.backend).toBe('webgpu');
  });

  it('trains on wasm, and says why, on a software adapter even when its gradients agree', async () => {
    const { result, check, status } = await trainOnFakeWebgpu({
      ...FAKE_ADAPTER,
      architecture: 'swiftshader',
      isFallbackAdapter: true,
    });
    expect(result.backend).toBe('wasm');
    expect(result.note).toMatch(
      /WebGPU gradients on edgeloop\/swiftshader agree with cpu's, but it is a software adapter, so training ran on wasm/,
    );
    expect(check?.value).toMatchObject({ adapter: 'edgeloop/swiftshader', ok: true });
    expect(status.backend).toBe('webgpu');
  });

  it('trains on wasm, and says why, when WebGPU’s gradients are wrong', async () => {
    const matMul = tf.getKernel('BatchMatMul', 'webgpu');
    if (!matMul) throw new Error('the stand-in has a BatchMatMul');
    tf.unregisterKernel('BatchMatMul', 'webgpu');
    tf.registerKernel({
      ...matMul,
      // 2% off: a wrong kernel, not rounding.
      kernelFunc: (args) => {
        const out = matMul.kernelFunc(args) as tf.TensorInfo;
        const backend = args.backend as MathBackendCPU;
        const values = backend.readSync(out.dataId) as Float32Array;
        values.forEach((value, i) => {
          values[i] = value * 1.02;
        });
        return out;
      },
    });
    try {
      const { result, check, status } = await trainOnFakeWebgpu();
      expect(result.backend).toBe('wasm');
      expect(result.note).toMatch(
        /WebGPU gradients on edgeloop\/test-gpu differ from cpu's by \S+ \(relative; tolerance 0\.001\), so training ran on wasm/,
      );
      expect(check?.value).toMatchObject({ adapter: 'edgeloop/test-gpu', ok: false });
      expect(check?.key === 'gradientCheck' ? check.value.maxError : 0).toBeGreaterThan(0.001);
      // Predictions are back on the serving backend.
      expect(status.backend).toBe('webgpu');
    } finally {
      tf.unregisterKernel('BatchMatMul', 'webgpu');
      tf.registerKernel(matMul);
    }
  });
});
