import { afterEach, describe, expect, it, vi } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { createClient } from './client.ts';
import { parseClientOptions, parsePredictOptions } from './options.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('createClient', () => {
  it('rejects bad options with INVALID_INPUT before it starts a worker', async () => {
    const worker = vi.fn();
    vi.stubGlobal('Worker', worker);
    const bad = [
      { endpoint: 'not a url', key: 'k' },
      { endpoint: 'https://edge.example', key: '' },
      { endpoint: 'https://edge.example', key: 'k', backend: 'gpu' },
      { endpoint: 'https://edge.example', key: 'k', extra: true },
    ];
    for (const options of bad) {
      const error = await createClient(options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EdgeloopError);
      expect((error as EdgeloopError).code).toBe('INVALID_INPUT');
    }
    expect(worker).not.toHaveBeenCalled();
  });
});

describe('parsePredictOptions', () => {
  it('passes app features through and refuses malformed ones with INVALID_INPUT', () => {
    expect(parsePredictOptions({ features: { device: 'pen', pressure: 0.5, tilt: null } })).toEqual({
      features: { device: 'pen', pressure: 0.5, tilt: null },
    });
    expect(parsePredictOptions({})).toEqual({});
    const bad = [
      { features: { pressure: Number.NaN } },
      { features: { device: 'x'.repeat(257) } },
      { features: { device: ['pen'] } },
      { features: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`f${i}`, 1])) },
      { extra: true },
    ];
    for (const options of bad) {
      expect(() => parsePredictOptions(options), JSON.stringify(options).slice(0, 60)).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/options/) }),
      );
    }
  });

  it('takes shareFeatures in the client options, off by default', () => {
    const base = { endpoint: 'https://edge.example', key: 'k' };
    expect(parseClientOptions(base).shareFeatures).toBe(false);
    expect(parseClientOptions({ ...base, shareFeatures: true }).shareFeatures).toBe(true);
    expect(() => parseClientOptions({ ...base, shareFeatures: 'yes' })).toThrow(EdgeloopError);
  });

  it('takes federated in the client options, off by default', () => {
    const base = { endpoint: 'https://edge.example', key: 'k' };
    expect(parseClientOptions(base).federated).toBe(false);
    expect(parseClientOptions({ ...base, federated: true }).federated).toBe(true);
    expect(() => parseClientOptions({ ...base, federated: 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/^options\.federated/) }),
    );
  });
});
