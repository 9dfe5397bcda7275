import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { appConfigFrom } from './app-config.ts';

const edge = { v: 1, endpoint: 'http://127.0.0.1:8787', clientKey: 'pk_test', model: 'digits', alias: 'production' };

describe('appConfigFrom', () => {
  it('takes endpoint, key, model and alias from /config.json', () => {
    expect(appConfigFrom(edge, new URLSearchParams())).toEqual({
      client: { endpoint: edge.endpoint, key: 'pk_test' },
      model: 'digits',
      alias: 'production',
    });
  });

  it('lets ?backend= and ?db= override the backend and the IndexedDB name', () => {
    const { client } = appConfigFrom(edge, new URLSearchParams('backend=wasm&db=e2e-1'));
    expect(client).toMatchObject({ backend: 'wasm', dbName: 'e2e-1' });
  });

  it('takes part in federated rounds on its own only with ?federated=1', () => {
    expect(appConfigFrom(edge, new URLSearchParams('federated=1')).client.federated).toBe(true);
    expect(appConfigFrom(edge, new URLSearchParams()).client.federated).toBeUndefined();
  });

  it('rejects an unknown backend and a malformed config with INVALID_INPUT', () => {
    expect(() => appConfigFrom(edge, new URLSearchParams('backend=gpu'))).toThrow(/\?backend=gpu/);
    try {
      appConfigFrom({ ...edge, endpoint: 'not a url' }, new URLSearchParams());
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EdgeloopError);
      expect((error as EdgeloopError).code).toBe('INVALID_INPUT');
    }
  });

  it('lets ?model= and ?alias= pick another registry model or alias, refusing malformed names', () => {
    expect(appConfigFrom(edge, new URLSearchParams('model=digits-canary&alias=staging'))).toMatchObject({
      model: 'digits-canary',
      alias: 'staging',
    });
    expect(() => appConfigFrom(edge, new URLSearchParams('model=Bad%20Name'))).toThrow(/\?model=Bad Name/);
    expect(() => appConfigFrom(edge, new URLSearchParams('alias=latest'))).toThrow(/reserved/);
  });
});
