import { describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  CLIENT_KEY,
  count,
  expectError,
  makeKey,
  registerClient,
  sendAsClient,
  sendJson,
} from './helpers.ts';
import { createRun, ensureModel, getRun, logMetrics, publishVersions } from './run-helpers.ts';

// Every device holds the same public client key: a run a device creates is its own, written
// only with its client token; revoked devices write nothing.

describe('runs of devices', () => {
  it('lets a device write only to the runs its token created, and not link versions', async () => {
    await publishVersions('runs-client', 1);
    const device = await registerClient();
    const other = await registerClient();
    const run = await createRun({ model: 'runs-client', params: { epochs: 3 } }, CLIENT_KEY, device.token);
    expect(run).toMatchObject({ createdBy: 'bootstrap-client', clientId: device.clientId });
    expect((await logMetrics(run.id, [{ key: 'loss', value: 0.5, step: 1 }], CLIENT_KEY, device.token)).status).toBe(
      200,
    );

    // Every device holds the same public key: without the creator's token nothing is written.
    const otherKey = await makeKey('client');
    for (const [key, token] of [
      [CLIENT_KEY, undefined],
      [CLIENT_KEY, other.token],
      [otherKey.key, other.token],
      [CLIENT_KEY, `${device.clientId}.forged`],
    ] as const) {
      await expectError(await logMetrics(run.id, [{ key: 'loss', value: 9, step: 2 }], key, token), 403, 'FORBIDDEN');
      await expectError(
        await sendAsClient('PATCH', `/v1/runs/${run.id}`, { v: 1, status: 'killed', tags: { x: 'y' } }, token, key),
        403,
        'FORBIDDEN',
      );
    }
    await expectError(
      await sendAsClient('PATCH', `/v1/runs/${run.id}`, { v: 1, versions: [1], tags: { a: 'b' } }, device.token),
      403,
      'FORBIDDEN',
    );
    expect(await count('run_metrics', 'run_id = ?', run.id)).toBe(1);
    expect(await count('run_versions', 'run_id = ?', run.id)).toBe(0);
    expect(await getRun(run.id)).toMatchObject({ status: 'running', tags: {} });

    const done = await sendAsClient('PATCH', `/v1/runs/${run.id}`, { v: 1, status: 'finished' }, device.token);
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ status: 'finished', metrics: { loss: { value: 0.5, step: 1 } } });
    // A publish key manages every run; a run it created belongs to no device.
    const operated = await createRun({ model: 'runs-client' });
    expect(operated.clientId).toBeNull();
    await expectError(
      await logMetrics(operated.id, [{ key: 'loss', value: 1, step: 0 }], CLIENT_KEY, device.token),
      403,
      'FORBIDDEN',
    );
  });

  it('lets no device create a run without a valid token, nor a revoked one write at all', async () => {
    await ensureModel('runs-revoked');
    const before = await count('runs');
    const body = { v: 1, model: 'runs-revoked' };
    await expectError(await sendJson('POST', '/v1/runs', body, CLIENT_KEY), 401, 'INVALID_CLIENT_TOKEN');
    await expectError(
      await sendAsClient('POST', '/v1/runs', body, 'c_aaaaaaaaaaaaaaaaaaaaaa.bad'),
      401,
      'INVALID_CLIENT_TOKEN',
    );
    const device = await registerClient();
    const run = await createRun({ model: 'runs-revoked' }, CLIENT_KEY, device.token);
    expect((await sendJson('POST', `/v1/clients/${device.clientId}/revoke`, {}, ADMIN_KEY)).status).toBe(200);
    await expectError(await sendAsClient('POST', '/v1/runs', body, device.token), 403, 'CLIENT_REVOKED');
    await expectError(
      await logMetrics(run.id, [{ key: 'loss', value: 1, step: 0 }], CLIENT_KEY, device.token),
      403,
      'CLIENT_REVOKED',
    );
    await expectError(
      await sendAsClient('PATCH', `/v1/runs/${run.id}`, { v: 1, status: 'killed' }, device.token),
      403,
      'CLIENT_REVOKED',
    );
    await expectError(
      await sendAsClient('POST', '/v1/runs', { v: 1, model: 'runs-nowhere' }, (await registerClient()).token),
      404,
      'MODEL_NOT_FOUND',
    );
    expect(await count('runs')).toBe(before + 1);
    expect(await getRun(run.id)).toMatchObject({ status: 'running' });
    expect(await count('run_metrics', 'run_id = ?', run.id)).toBe(0);
  });
});
