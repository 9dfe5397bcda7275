import { afterEach, describe, expect, it, vi } from 'vitest';
import { detectEnv } from './env.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

const withGpu = (requestAdapter: () => Promise<unknown>) => vi.stubGlobal('navigator', { gpu: { requestAdapter } });

describe('detectEnv', () => {
  it('in Node: no WebGPU, wasm with SIMD, no script URL', async () => {
    const env = await detectEnv();
    expect(env.webgpu).toEqual({ available: false, reason: 'navigator.gpu is missing (no WebGPU in this runtime)' });
    expect(env.wasm).toEqual({ available: true, simd: true });
    expect(env.scriptUrl).toBeNull();
  });

  it("reports SwiftShader's fallback adapter from adapter.info", async () => {
    withGpu(async () => ({ info: { architecture: 'swiftshader', vendor: 'google', isFallbackAdapter: true } }));
    expect((await detectEnv()).webgpu).toEqual({
      available: true,
      adapter: { architecture: 'swiftshader', vendor: 'google', isFallbackAdapter: true },
    });
  });

  it('reads isFallbackAdapter from the adapter on older Chrome, and explains a missing adapter', async () => {
    withGpu(async () => ({ info: { architecture: '', vendor: 'x' }, isFallbackAdapter: true }));
    expect((await detectEnv()).webgpu).toMatchObject({ adapter: { isFallbackAdapter: true } });
    withGpu(async () => null);
    expect((await detectEnv()).webgpu).toEqual({ available: false, reason: expect.stringContaining('no adapter') });
    withGpu(() => Promise.reject(new Error('GPU process crashed')));
    expect((await detectEnv()).webgpu).toEqual({ available: false, reason: expect.stringContaining('GPU process') });
  });
});
