import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../../protocol/worker-api.ts';
import { registerTrainingKernels } from '../train/kernels/index.ts';
import type { BackendConfig, BackendDefinition } from './registry.ts';
import { BackendRegistry } from './registry.ts';

// Backends are imported on first use so a page that never needs WebGPU never downloads it.

async function activate(name: BackendName, hint = ''): Promise<void> {
  // tfjs only logs why a backend failed to initialise; the hint says what to check.
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed to initialise${hint}`);
}

export const webgpuBackend: BackendDefinition = {
  name: 'webgpu',
  priority: 3,
  isAvailable: (env) => (env.webgpu.available ? { ok: true } : { ok: false, reason: env.webgpu.reason }),
  async setup() {
    await import('@tensorflow/tfjs-backend-webgpu');
    await activate('webgpu');
  },
};

export const wasmBackend: BackendDefinition = {
  name: 'wasm',
  priority: 2,
  isAvailable: (env) => (env.wasm.available ? { ok: true } : { ok: false, reason: 'WebAssembly is not available' }),
  async setup(config: BackendConfig) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (tf.findBackend('wasm') === null) {
      // The threaded build hangs once minified (it rebuilds its pthread worker from
      // Function.toString()) and needs COOP/COEP anyway: stay single-threaded.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      wasm.setWasmPaths(config.wasmPath);
    }
    await activate('wasm', ` (are tfjs-backend-wasm*.wasm served at ${config.wasmPath}?)`);
    registerTrainingKernels('wasm');
  },
};

export const cpuBackend: BackendDefinition = {
  name: 'cpu',
  priority: 1,
  isAvailable: () => ({ ok: true }),
  async setup() {
    await import('@tensorflow/tfjs-backend-cpu');
    await activate('cpu');
    registerTrainingKernels('cpu');
  },
};

/**
 * The registry of tfjs backends: webgpu, wasm and cpu.
 *
 * @example
 * const registry = tfjsBackends();
 * await registry.activate('cpu', env, { wasmPath: '/tfjs/' });
 */
export function tfjsBackends(): BackendRegistry {
  return new BackendRegistry().register(webgpuBackend).register(wasmBackend).register(cpuBackend);
}
