import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { registerErrorTransfer } from './error-transfer.ts';
import { EdgeloopError } from './errors.ts';

const thrower = {
  async fail(): Promise<void> {
    throw new EdgeloopError('UNKNOWN_PREDICTION', 'no prediction p1');
  },
  async plain(): Promise<void> {
    throw new TypeError('not ours');
  },
};

/** `thrower` exposed on one port of a channel and wrapped on the other, as a worker and its page. */
function connect() {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(thrower, port1 as unknown as Comlink.Endpoint);
  const remote = Comlink.wrap<typeof thrower>(port2 as unknown as Comlink.Endpoint);
  const close = () => {
    port1.close();
    port2.close();
  };
  return { remote, close };
}

const stock = Comlink.transferHandlers.get('throw');
afterEach(() => {
  if (stock) Comlink.transferHandlers.set('throw', stock);
});

describe('registerErrorTransfer', () => {
  it('carries an EdgeloopError across comlink with its code as a value, its message untouched', async () => {
    registerErrorTransfer(Comlink.transferHandlers);
    registerErrorTransfer(Comlink.transferHandlers);
    const { remote, close } = connect();
    const error = await remote.fail().catch((e: unknown) => e);
    close();
    expect(error).toBeInstanceOf(EdgeloopError);
    expect(error).toMatchObject({ name: 'EdgeloopError', code: 'UNKNOWN_PREDICTION', message: 'no prediction p1' });
    expect(String(error)).toBe('[UNKNOWN_PREDICTION] no prediction p1');
  });

  it("leaves other errors to comlink's own handler", async () => {
    registerErrorTransfer(Comlink.transferHandlers);
    const { remote, close } = connect();
    const error = await remote.plain().catch((e: unknown) => e);
    close();
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(EdgeloopError);
    expect(error).toMatchObject({ name: 'TypeError', message: 'not ours' });
    expect(EdgeloopError.from(error)).toMatchObject({ code: 'INTERNAL', message: 'not ours' });
  });

  it('gives a side that did not register an Error whose name and code EdgeloopError.from reads', async () => {
    registerErrorTransfer(Comlink.transferHandlers);
    const { remote, close } = connect();
    // The page side without the handler: comlink's stock deserializer reads the same message.
    const registered = Comlink.transferHandlers.get('throw');
    if (stock) Comlink.transferHandlers.set('throw', { ...stock, serialize: registered?.serialize ?? stock.serialize });
    const error = await remote.fail().catch((e: unknown) => e);
    close();
    expect(error).not.toBeInstanceOf(EdgeloopError);
    expect(error).toMatchObject({ name: 'EdgeloopError', code: 'UNKNOWN_PREDICTION', message: 'no prediction p1' });
    expect(EdgeloopError.from(error)).toMatchObject({ code: 'UNKNOWN_PREDICTION', message: 'no prediction p1' });
  });
});
