import { describe, expect, it } from 'vitest';
import type { BackendReport } from '../../protocol/worker-api.ts';
import { describeBackend } from './backend-summary.ts';

const swiftshader = { architecture: 'swiftshader', vendor: 'google', isFallbackAdapter: true };

describe('describeBackend', () => {
  it('names a software WebGPU adapter that auto skipped, with how much slower it was', () => {
    const report: BackendReport = {
      v: 1,
      backend: 'wasm',
      requested: 'auto',
      warmupMs: { webgpu: 40, wasm: 1.6, cpu: 3.2 },
      skipped: { webgpu: 'slower: 40 ms per predict vs 1.6 ms on wasm', cpu: 'slower: 3.2 ms vs 1.6 ms on wasm' },
      adapter: swiftshader,
    };
    const { headline, notes } = describeBackend(report);
    expect(headline).toBe('wasm (auto: fastest warm-up of wasm 1.60 ms, cpu 3.20 ms, webgpu 40 ms)');
    expect(notes).toEqual([
      'webgpu: SwiftShader fallback adapter, 25× slower than wasm',
      'cpu skipped: slower: 3.2 ms vs 1.6 ms on wasm',
    ]);
  });

  it('says so when WebGPU runs on a fallback adapter because it was asked for', () => {
    const { headline, notes } = describeBackend({
      v: 1,
      backend: 'webgpu',
      requested: 'webgpu',
      warmupMs: { webgpu: 40 },
      skipped: { wasm: "not requested (backend 'webgpu' was asked for)" },
      adapter: swiftshader,
    });
    expect(headline).toBe('webgpu (requested; webgpu 40 ms)');
    expect(notes).toEqual(['webgpu runs on a software SwiftShader fallback adapter: correct, but slow']);
  });

  it('gives the reason WebGPU was unavailable', () => {
    const { notes } = describeBackend({
      v: 1,
      backend: 'wasm',
      requested: 'auto',
      warmupMs: { wasm: 1 },
      skipped: { webgpu: 'no WebGPU adapter in this browser' },
    });
    expect(notes).toEqual(['webgpu skipped: no WebGPU adapter in this browser']);
  });
});
