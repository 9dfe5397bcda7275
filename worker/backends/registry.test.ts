import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { BackendName } from '../../protocol/worker-api.ts';
import type { RuntimeEnv } from '../env.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';
import { type BackendDefinition, BackendRegistry } from './registry.ts';

const SWIFTSHADER = { architecture: 'swiftshader', vendor: 'google', isFallbackAdapter: true };
const env: RuntimeEnv = {
  webgpu: { available: true, adapter: SWIFTSHADER },
  wasm: { available: true, simd: true },
  indexedDB: true,
  scriptUrl: null,
};
const config = { wasmPath: '/tfjs/' };

interface Fake {
  unavailable?: string;
  failSetup?: string;
}

/** A registry of stand-in backends whose warm-up takes `ms[name]` milliseconds. */
function registry(ms: Partial<Record<BackendName, number>>, fakes: Partial<Record<BackendName, Fake>> = {}) {
  const backends = new BackendRegistry();
  const define = (name: BackendName, priority: number): BackendDefinition => ({
    name,
    priority,
    isAvailable: () => {
      const reason = fakes[name]?.unavailable;
      return reason ? { ok: false, reason } : { ok: true };
    },
    setup: async () => {
      const reason = fakes[name]?.failSetup;
      if (reason) throw new Error(reason);
    },
  });
  backends.register(define('webgpu', 3)).register(define('wasm', 2)).register(define('cpu', 1));
  const measure = async () => ms[backends.active ?? 'cpu'] ?? Number.NaN;
  return { backends, measure };
}

describe('backend registry', () => {
  it('auto picks the fastest measured backend, not the one with the highest priority', async () => {
    const { backends, measure } = registry({ webgpu: 30, wasm: 1, cpu: 2 });
    const report = await backends.choose('auto', env, config, measure);
    expect(report).toEqual({
      v: 1,
      backend: 'wasm',
      requested: 'auto',
      warmupMs: { webgpu: 30, wasm: 1, cpu: 2 },
      skipped: {
        webgpu: 'slower: 30 ms per predict vs 1 ms on wasm',
        cpu: 'slower: 2 ms per predict vs 1 ms on wasm',
      },
      adapter: SWIFTSHADER,
    });
    expect(backends.active).toBe('wasm');
  });

  it('auto reports backends that are unavailable or fail to start, and falls back', async () => {
    const { backends, measure } = registry(
      { cpu: 4 },
      { webgpu: { unavailable: 'no adapter' }, wasm: { failSetup: 'wasm file 404' } },
    );
    const report = await backends.choose('auto', env, config, measure);
    expect(report.backend).toBe('cpu');
    expect(report.skipped).toEqual({ webgpu: 'no adapter', wasm: 'failed to start: wasm file 404' });
    expect(report.warmupMs).toEqual({ cpu: 4 });
  });

  it('an explicit preference is used as asked, or refused with the reason, never replaced', async () => {
    const { backends, measure } = registry({ webgpu: 30, wasm: 5, cpu: 1 }, { webgpu: { unavailable: 'no adapter' } });
    const refused = await backends.choose('webgpu', env, config, measure).catch((e: unknown) => EdgeloopError.from(e));
    expect(refused).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: 'webgpu: no adapter' });
    expect(backends.active).toBeNull();

    const report = await backends.choose('wasm', env, config, measure);
    expect(report).toMatchObject({ backend: 'wasm', requested: 'wasm', warmupMs: { wasm: 5 } });
    expect(report.skipped.cpu).toMatch(/not requested/);
  });

  it('auto throws BACKEND_UNAVAILABLE when nothing can run', async () => {
    const { backends, measure } = registry(
      {},
      { webgpu: { unavailable: 'a' }, wasm: { unavailable: 'b' }, cpu: { failSetup: 'c' } },
    );
    await expect(backends.choose('auto', env, config, measure)).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/no backend/),
    });
  });

  it('auto on real tfjs in Node measures wasm and cpu and says why WebGPU was skipped', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const { api } = await startWorker({ edge, backend: 'auto' });
    const { backend: report } = await api.load({ v: 1, model: 'digits' });

    expect(Object.keys(report.warmupMs).sort()).toEqual(['cpu', 'wasm']);
    expect(report.skipped.webgpu).toMatch(/navigator\.gpu/);
    const loser = report.backend === 'wasm' ? 'cpu' : 'wasm';
    expect(report.skipped[loser]).toMatch(/^slower: /);
    expect(report.adapter).toBeUndefined();
    const result = await api.predict(pixels(2));
    expect(result.backend).toBe(report.backend);
    expect((await api.status()).backend).toBe(report.backend);
    await api.dispose();
  });

  it('wasm and cpu give the same probabilities', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge);
    const outputs: number[][] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      const { api } = await startWorker({ edge, backend });
      await api.load({ v: 1, model: 'digits' });
      const result = await api.predict(pixels(4));
      expect(result.backend).toBe(backend);
      outputs.push(result.outputs);
      await api.dispose();
    }
    const [wasm = [], cpu = []] = outputs;
    for (const [i, p] of cpu.entries()) expect(p).toBeCloseTo(wasm[i] ?? Number.NaN, 5);
  });
});
