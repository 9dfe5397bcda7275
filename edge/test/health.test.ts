import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, api, CLIENT_KEY, expectError } from './helpers.ts';

describe('unauthenticated endpoints', () => {
  it('answers /healthz with the version from wrangler.toml', async () => {
    const res = await api('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, version: '0.1.0' });
  });

  it('serves /config.json with the request origin and the publishable client key', async () => {
    const res = await api('/config.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      v: 1,
      endpoint: 'https://edge.test',
      clientKey: CLIENT_KEY,
      model: 'digits',
      alias: 'production',
    });
  });
});

describe('unknown routes', () => {
  it('answers a JSON 404 NOT_FOUND outside the API', async () => {
    const message = await expectError(await api('/nope'), 404, 'NOT_FOUND');
    expect(message).toContain('/nope');
  });

  it('answers a JSON 404 NOT_FOUND inside the API', async () => {
    await expectError(await api('/v1/nothing-here', { key: ADMIN_KEY }), 404, 'NOT_FOUND');
    await expectError(await api('/v1/models/digits/unknown', { key: ADMIN_KEY }), 404, 'NOT_FOUND');
  });
});

describe('CORS on /v1/*', () => {
  it('answers a preflight from an allowed origin without a key', async () => {
    const res = await api('/v1/events', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('does not allow an origin outside EDGELOOP_CORS_ORIGINS', async () => {
    const res = await api('/v1/models', { key: ADMIN_KEY, headers: { Origin: 'https://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps CORS headers on error responses so browsers can read the error', async () => {
    const res = await api('/v1/models', { headers: { Origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    await expectError(res, 401, 'UNAUTHORIZED');
  });
});
