import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, api, CLIENT_KEY, manifest, modelFiles, publish, publishAliased } from './helpers.ts';

// Open Inference Protocol v2 health and metadata. Bodies are the protocol's; errors are
// {"error": "<message>"} with Edgeloop's stable code in the Edgeloop-Error-Code header.

async function expectOipError(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('edgeloop-error-code')).toBe(code);
  const body = (await res.json()) as { error: unknown };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  return String(body.error);
}

describe('OIP v2 health and server metadata', () => {
  it('answers live and ready without a key', async () => {
    expect(await (await api('/v2/health/live')).json()).toEqual({ live: true });
    expect(await (await api('/v2/health/ready')).json()).toEqual({ ready: true });
  });

  it('names the server, its version and its extensions', async () => {
    expect(await (await api('/v2')).json()).toEqual({ name: 'edgeloop', version: '0.1.0', extensions: [] });
  });
});

describe('OIP v2 model metadata', () => {
  it("describes the production alias's version, or a named one, in the protocol's terms", async () => {
    const stable = await publishAliased('oip-meta');
    const next = await publish('oip-meta', modelFiles('oip-meta-2'));
    expect(next.status).toBe(201);
    const expected = (version: number) => ({
      name: 'oip-meta',
      versions: [String(version)],
      platform: 'tensorflowjs_layers',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 1] }],
      outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 1] }],
    });
    const viaAlias = await api('/v2/models/oip-meta', { key: CLIENT_KEY });
    expect(viaAlias.status).toBe(200);
    expect(await viaAlias.json()).toEqual(expected(stable));
    const named = await api('/v2/models/oip-meta/versions/2', { key: ADMIN_KEY });
    expect(await named.json()).toEqual(expected(2));
    // A client key sees only versions an alias or rollout assigns.
    const unassigned = await api('/v2/models/oip-meta/versions/2', { key: CLIENT_KEY });
    await expectOipError(unassigned, 403, 'FORBIDDEN');
  });

  it('refuses unknown models, versions and aliases, bad parameters and missing keys, as the protocol does', async () => {
    const res = await publish(
      'oip-bare',
      modelFiles('oip-bare', { weights: false }),
      manifest('oip-bare', ['model.json']),
    );
    expect(res.status).toBe(201);
    expect(
      await expectOipError(await api('/v2/models/oip-bare', { key: ADMIN_KEY }), 404, 'ALIAS_NOT_FOUND'),
    ).toContain('production');
    await expectOipError(await api('/v2/models/oip-none', { key: ADMIN_KEY }), 404, 'MODEL_NOT_FOUND');
    await expectOipError(await api('/v2/models/oip-bare/versions/9', { key: ADMIN_KEY }), 404, 'VERSION_NOT_FOUND');
    await expectOipError(await api('/v2/models/oip-bare/versions/0', { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    await expectOipError(await api('/v2/models/Not%20A%20Name', { key: ADMIN_KEY }), 400, 'INVALID_NAME');
    await expectOipError(await api('/v2/models/oip-bare'), 401, 'UNAUTHORIZED');
    await expectOipError(await api('/v2/no-such-route'), 404, 'NOT_FOUND');
  });
});

describe('OIP v2 model readiness', () => {
  it('is ready for a servable version and not for an archived one; unknown ones are 404', async () => {
    const stable = await publishAliased('oip-ready');
    const next = await publish('oip-ready', modelFiles('oip-ready-2'));
    expect(next.status).toBe(201);
    const ready = async (path: string) => (await api(path, { key: ADMIN_KEY })).json();
    expect(await ready('/v2/models/oip-ready/ready')).toEqual({ name: 'oip-ready', ready: true });
    expect(await ready(`/v2/models/oip-ready/versions/${stable + 1}/ready`)).toEqual({
      name: 'oip-ready',
      ready: true,
    });
    const archived = await api(`/v1/models/oip-ready/versions/${stable + 1}/archive`, {
      method: 'POST',
      key: ADMIN_KEY,
    });
    expect(archived.status).toBe(200);
    expect(await ready(`/v2/models/oip-ready/versions/${stable + 1}/ready`)).toEqual({
      name: 'oip-ready',
      ready: false,
    });
    await expectOipError(
      await api('/v2/models/oip-ready/versions/9/ready', { key: ADMIN_KEY }),
      404,
      'VERSION_NOT_FOUND',
    );
    await expectOipError(await api('/v2/models/oip-ready/ready'), 401, 'UNAUTHORIZED');
  });
});
