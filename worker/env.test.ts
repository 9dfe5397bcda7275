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

  it('takes the worker’s location as its script URL, or this module’s URL in a blob-started worker', async () => {
    vi.stubGlobal('location', { href: 'https://edge.example/assets/worker-abc.js' });
    expect((await detectEnv()).scriptUrl).toBe('https://edge.example/assets/worker-abc.js');
    // The script tag's worker: its location is the blob on the host page's origin, where no path resolves.
    vi.stubGlobal('location', { href: 'blob:https://page.example/0b6c1f4e-1c4a-4d2b-9d55-3f0e8a7b2c11' });
    const { scriptUrl } = await detectEnv();
    expect(scriptUrl).toBe(new URL('./env.ts', import.meta.url).href);
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
