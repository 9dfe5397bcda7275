import { afterEach, describe, expect, it, vi } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { EdgeloopClient } from '../sdk/client.ts';
import type { ClientOptions } from '../sdk/options.ts';
import { createEdgeloop } from './runtime.ts';

const SCRIPT = 'https://edge.example/embed/0.1.0/edgeloop.abc.js';

/** A client whose load waits for `open()`, and the options it was started with. */
function fakeClient() {
  let open: () => void = () => {};
  const loaded = new Promise<void>((resolve) => {
    open = resolve;
  });
  const client = {
    clientId: 'c_12345678',
    load: vi.fn(async () => {
      await loaded;
      return { version: 3, backend: { backend: 'wasm' } };
    }),
    predict: vi.fn(async (values: readonly unknown[] | Float32Array) => ({
      v: 1,
      predictionId: `p${Array.from(values).flat(2).length}`,
      model: 'digits',
      version: 3,
      outputs: [0.1, 0.9],
      label: 1,
      backend: 'wasm',
      latencyMs: 2,
    })),
    feedback: vi.fn(async () => undefined),
    sync: vi.fn(async () => ({ v: 1, sent: 2, accepted: 2, duplicates: 0, rejected: 0, pending: 0, at: 5 })),
    close: vi.fn(),
  };
  const started: ClientOptions[] = [];
  const createClient = vi.fn(async (options: ClientOptions) => {
    started.push(options);
    return client as unknown as EdgeloopClient;
  });
  return { client, createClient, started, open: () => open() };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createEdgeloop', () => {
  it('queues calls made before it is ready, then answers them and emits the events', async () => {
    const fake = fakeClient();
    const edgeloop = createEdgeloop({ version: '0.1.0', scriptUrl: SCRIPT, createClient: fake.createClient });
    const events: string[] = [];
    for (const type of ['ready', 'prediction', 'synced', 'error'] as const) {
      edgeloop.on(type, () => events.push(type));
    }
    const early = edgeloop.predict([
      [0, 1],
      [1, 0],
    ]);
    const ready = edgeloop.init({ key: 'k', model: 'digits' });
    await Promise.resolve();
    expect(fake.client.predict).not.toHaveBeenCalled();
    fake.open();
    expect(await ready).toEqual({
      clientId: 'c_12345678',
      model: 'digits',
      alias: 'production',
      version: 3,
      backend: 'wasm',
    });
    expect(await early).toEqual({
      id: 'p4',
      outputs: [0.1, 0.9],
      label: 1,
      model: 'digits',
      version: 3,
      backend: 'wasm',
      latencyMs: 2,
    });
    expect(await edgeloop.sync()).toEqual({ sent: 2, accepted: 2, duplicates: 0, rejected: 0, pending: 0, at: 5 });
    await edgeloop.feedback('p4', 1);
    expect(fake.client.feedback).toHaveBeenCalledWith('p4', 1);
    expect(events).toEqual(['ready', 'prediction', 'synced']);
    // The edge that served the script is the default endpoint and serves the .wasm files.
    expect(fake.started).toEqual([
      expect.objectContaining({ endpoint: 'https://edge.example', wasmPath: 'https://edge.example/tfjs/', key: 'k' }),
    ]);
  });

  it('calls a ready listener added after ready at once, and stops a listener on off', async () => {
    const fake = fakeClient();
    fake.open();
    const edgeloop = createEdgeloop({ version: '0.1.0', scriptUrl: SCRIPT, createClient: fake.createClient });
    await edgeloop.init({ key: 'k', model: 'digits', endpoint: 'https://api.example' });
    expect(fake.started[0]?.endpoint).toBe('https://api.example');
    const late = await new Promise((resolve) => edgeloop.on('ready', resolve));
    expect(late).toMatchObject({ version: 3 });
    const seen = vi.fn();
    const stop = edgeloop.on('prediction', seen);
    await edgeloop.predict(new Float32Array(2));
    stop();
    await edgeloop.predict(new Float32Array(2));
    expect(seen).toHaveBeenCalledTimes(1);
  });

  it('refuses bad or repeated init with INVALID_INPUT, starting nothing twice', async () => {
    const fake = fakeClient();
    fake.open();
    const edgeloop = createEdgeloop({ version: '0.1.0', scriptUrl: SCRIPT, createClient: fake.createClient });
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(edgeloop.init({ key: '', model: 'digits' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(fake.createClient).not.toHaveBeenCalled();
    await edgeloop.init({ key: 'k', model: 'digits' });
    await expect(edgeloop.init({ key: 'k', model: 'digits' })).rejects.toThrow(/already started/);
    expect(fake.createClient).toHaveBeenCalledTimes(1);
    await expect(edgeloop.predict('nope' as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('rejects the calls that waited when the start fails, emitting the error once', async () => {
    const fake = fakeClient();
    fake.client.load.mockRejectedValueOnce(new EdgeloopError('ALIAS_NOT_FOUND', 'no alias production'));
    const edgeloop = createEdgeloop({ version: '0.1.0', scriptUrl: SCRIPT, createClient: fake.createClient });
    const errors: EdgeloopError[] = [];
    edgeloop.on('error', (error) => errors.push(error));
    const waiting = [edgeloop.predict([1]), edgeloop.sync()];
    await expect(edgeloop.init({ key: 'k', model: 'digits' })).rejects.toMatchObject({ code: 'ALIAS_NOT_FOUND' });
    for (const call of waiting) await expect(call).rejects.toMatchObject({ code: 'ALIAS_NOT_FOUND' });
    expect(errors.map((e) => e.code)).toEqual(['ALIAS_NOT_FOUND']);
    expect(fake.client.close).toHaveBeenCalled();
  });

  it('emits a call’s failure as an error event, and logs it when nothing listens', async () => {
    const fake = fakeClient();
    fake.open();
    fake.client.feedback.mockRejectedValue(new EdgeloopError('UNKNOWN_PREDICTION', 'no prediction x'));
    const edgeloop = createEdgeloop({ version: '0.1.0', scriptUrl: SCRIPT, createClient: fake.createClient });
    await edgeloop.init({ key: 'k', model: 'digits' });
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(edgeloop.feedback('x', 1)).rejects.toMatchObject({ code: 'UNKNOWN_PREDICTION' });
    expect(logged).toHaveBeenCalledTimes(1);
    const errors: string[] = [];
    edgeloop.on('error', (error) => errors.push(error.code));
    await expect(edgeloop.feedback('x', 1)).rejects.toThrow(EdgeloopError);
    expect(errors).toEqual(['UNKNOWN_PREDICTION']);
    expect(logged).toHaveBeenCalledTimes(1);
  });
});
