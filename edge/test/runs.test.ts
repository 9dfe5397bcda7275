import { describe, expect, it } from 'vitest';
import type { MetricSeries, Run, RunComparison, RunList } from '../../protocol/runs.ts';
import {
  ADMIN_KEY,
  api,
  CLIENT_KEY,
  count,
  expectError,
  makeKey,
  modelFiles,
  publish,
  registerClient,
  sendAsClient,
  sendJson,
} from './helpers.ts';

const published = new Set<string>();

/** Publishes one version of `model` unless this file already did: runs are of published models. */
async function ensureModel(model: string): Promise<void> {
  if (published.has(model)) return;
  await publishVersions(model, 1);
  published.add(model);
}

/** Creates a run with `key` (admin by default; a client key needs the device's `token`) and returns it. */
async function createRun(body: Record<string, unknown>, key = ADMIN_KEY, token?: string): Promise<Run> {
  await ensureModel(body.model as string);
  const res = await sendAsClient('POST', '/v1/runs', { v: 1, ...body }, token, key);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Run;
}

const logMetrics = (id: string, metrics: unknown[], key = ADMIN_KEY, token?: string) =>
  sendAsClient('POST', `/v1/runs/${id}/metrics`, { v: 1, metrics }, token, key);

/** Posts a raw JSON text, so values JSON.stringify cannot produce (1e999) reach the Worker. */
const postRaw = (path: string, text: string, key = ADMIN_KEY) =>
  api(path, { method: 'POST', key, headers: { 'Content-Type': 'application/json' }, body: text });

async function getRun(id: string): Promise<Run> {
  const res = await api(`/v1/runs/${id}`, { key: ADMIN_KEY });
  expect(res.status).toBe(200);
  return (await res.json()) as Run;
}

async function publishVersions(model: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const res = await publish(model, modelFiles(`v${i}`, { weight: i }));
    expect(res.status).toBe(201);
  }
}

describe('runs', () => {
  it('creates a run with params and tags and reads it back', async () => {
    const publisher = await makeKey('publish');
    const run = await createRun(
      {
        model: 'runs-create',
        name: 'lr sweep',
        params: { lr: 0.01, optimizer: 'adam', augment: true },
        tags: { team: 'ml' },
      },
      publisher.key,
    );
    expect(run).toMatchObject({
      model: 'runs-create',
      name: 'lr sweep',
      status: 'running',
      params: { lr: 0.01, optimizer: 'adam', augment: true },
      tags: { team: 'ml' },
      parentVersion: null,
      createdBy: publisher.id,
      endedAt: null,
      metrics: {},
      versions: [],
    });
    expect(run.id).toMatch(/^run_[0-9a-f]{32}$/);
    expect(run.createdAt).toBeGreaterThan(0);
    expect(await getRun(run.id)).toEqual(run);
    expect(await count('runs', 'id = ?', run.id)).toBe(1);
  });

  it('refuses bad run bodies, unknown models and unknown parent versions, writing nothing', async () => {
    await ensureModel('runs-bad');
    const before = await count('runs');
    const bad: unknown[] = [
      { model: 'runs-bad' },
      { v: 1, model: 'Not A Name' },
      { v: 1, model: 'runs-bad', params: { nested: { a: 1 } } },
      { v: 1, model: 'runs-bad', params: { 'bad key!': 1 } },
      { v: 1, model: 'runs-bad', tags: { t: 5 } },
      { v: 1, model: 'runs-bad', parentVersion: 0 },
      { v: 1, model: 'runs-bad', extra: true },
      // valibot's record drops these keys silently; they are refused instead of stored without them.
      JSON.parse('{"v":1,"model":"runs-bad","params":{"__proto__":{"x":1},"lr":1}}'),
      JSON.parse('{"v":1,"model":"runs-bad","tags":{"constructor":"x"}}'),
      { v: 1, model: 'runs-bad', params: { prototype: 1 } },
    ];
    for (const body of bad) await expectError(await sendJson('POST', '/v1/runs', body, ADMIN_KEY), 400, 'INVALID_BODY');
    await expectError(
      await postRaw('/v1/runs', '{"v":1,"model":"runs-bad","params":{"lr":1e999}}'),
      400,
      'INVALID_BODY',
    );
    await expectError(
      await sendJson('POST', '/v1/runs', { v: 1, model: 'runs-bad', parentVersion: 3 }, ADMIN_KEY),
      404,
      'VERSION_NOT_FOUND',
    );
    await expectError(
      await sendJson('POST', '/v1/runs', { v: 1, model: 'runs-never-published' }, ADMIN_KEY),
      404,
      'MODEL_NOT_FOUND',
    );
    expect(await count('runs')).toBe(before);
    const run = await createRun({ model: 'runs-bad' });
    await expectError(
      await sendJson('PATCH', `/v1/runs/${run.id}`, JSON.parse('{"v":1,"tags":{"__proto__":"x"}}'), ADMIN_KEY),
      400,
      'INVALID_BODY',
    );
    expect((await getRun(run.id)).tags).toEqual({});
  });

  it('needs a key with the publish or client scope to write, read to read', async () => {
    const reader = await makeKey('read');
    const before = await count('runs');
    await expectError(await sendJson('POST', '/v1/runs', { v: 1, model: 'runs-auth' }, 'nope'), 401, 'UNAUTHORIZED');
    await expectError(await sendJson('POST', '/v1/runs', { v: 1, model: 'runs-auth' }, reader.key), 403, 'FORBIDDEN');
    expect(await count('runs')).toBe(before);

    const run = await createRun({ model: 'runs-auth' });
    await expectError(await logMetrics(run.id, [{ key: 'loss', value: 1, step: 0 }], reader.key), 403, 'FORBIDDEN');
    await expectError(await api(`/v1/runs/${run.id}`), 401, 'UNAUTHORIZED');
    await expectError(await api(`/v1/runs/${run.id}`, { key: CLIENT_KEY }), 403, 'FORBIDDEN');
    expect((await api(`/v1/runs/${run.id}`, { key: reader.key })).status).toBe(200);
    expect(await count('run_metrics', 'run_id = ?', run.id)).toBe(0);
  });

  it('lets a device write only to the runs its token created, and not link versions', async () => {
    await publishVersions('runs-client', 1);
    published.add('runs-client');
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

  it('keeps metric series by step and reports the latest value of each key', async () => {
    const run = await createRun({ model: 'runs-metrics' });
    const first = await logMetrics(run.id, [
      { key: 'loss', value: 0.9, step: 0, ts: 1764331200000 },
      { key: 'loss', value: 0.4, step: 2 },
      { key: 'eval/acc', value: 0.7, step: 1 },
    ]);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ runId: run.id, written: 3 });
    // Out of order, and step 2 again: the series stays ordered and step 2 is replaced.
    const second = await logMetrics(run.id, [
      { key: 'loss', value: 0.6, step: 1 },
      { key: 'loss', value: 0.3, step: 2 },
    ]);
    expect(second.status).toBe(200);

    const got = await getRun(run.id);
    expect(got.metrics.loss).toMatchObject({ value: 0.3, step: 2 });
    expect(got.metrics['eval/acc']).toMatchObject({ value: 0.7, step: 1 });

    const series = await api(`/v1/runs/${run.id}/metrics/loss`, { key: ADMIN_KEY });
    expect(series.status).toBe(200);
    const body = (await series.json()) as MetricSeries;
    expect(body.points.map(({ step, value }) => [step, value])).toEqual([
      [0, 0.9],
      [1, 0.6],
      [2, 0.3],
    ]);
    expect(body.points[0]?.ts).toBe(1764331200000);
    const slashed = await api(`/v1/runs/${run.id}/metrics/eval/acc`, { key: ADMIN_KEY });
    expect(((await slashed.json()) as MetricSeries).points).toHaveLength(1);
    const none = await api(`/v1/runs/${run.id}/metrics/never`, { key: ADMIN_KEY });
    expect(((await none.json()) as MetricSeries).points).toEqual([]);
    expect(await count('run_metrics', 'run_id = ?', run.id)).toBe(4);
  });

  it('refuses bad metric points whole, writing nothing', async () => {
    const run = await createRun({ model: 'runs-badmetrics' });
    const ok = { key: 'loss', value: 1, step: 0 };
    const bad: unknown[][] = [
      [],
      [ok, { key: 'loss', value: 'high', step: 1 }],
      [ok, { key: 'loss', value: 1, step: -1 }],
      [ok, { key: 'loss', value: 1, step: 1.5 }],
      [ok, { key: 'bad key', value: 1, step: 1 }],
      [ok, { key: 'x'.repeat(251), value: 1, step: 1 }],
      [ok, { key: 'loss', value: 2, step: 0 }],
      [ok, { key: 'loss', value: 1, step: 1, extra: 1 }],
      Array.from({ length: 1001 }, (_, step) => ({ key: 'loss', value: 1, step })),
    ];
    for (const metrics of bad) await expectError(await logMetrics(run.id, metrics), 400, 'INVALID_BODY');
    await expectError(
      await postRaw(`/v1/runs/${run.id}/metrics`, '{"v":1,"metrics":[{"key":"loss","value":1e999,"step":0}]}'),
      400,
      'INVALID_BODY',
    );
    await expectError(await postRaw(`/v1/runs/${run.id}/metrics`, '{"v":1,"metrics":['), 400, 'INVALID_BODY');
    await expectError(
      await postRaw(`/v1/runs/${run.id}/metrics`, `{"v":1,"pad":"${'x'.repeat(1100000)}"}`),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect(await count('run_metrics', 'run_id = ?', run.id)).toBe(0);

    const full = Array.from({ length: 1000 }, (_, step) => ({ key: 'loss', value: step / 1000, step }));
    expect((await logMetrics(run.id, full)).status).toBe(200);
    expect(await count('run_metrics', 'run_id = ?', run.id)).toBe(1000);

    const unknown = 'run_00000000000000000000000000000000';
    await expectError(await logMetrics(unknown, [ok]), 404, 'RUN_NOT_FOUND');
    await expectError(await api(`/v1/runs/${unknown}`, { key: ADMIN_KEY }), 404, 'RUN_NOT_FOUND');
    await expectError(await api('/v1/runs/not-a-run', { key: ADMIN_KEY }), 404, 'RUN_NOT_FOUND');
    await expectError(
      await sendJson('PATCH', `/v1/runs/${unknown}`, { v: 1, status: 'killed' }, ADMIN_KEY),
      404,
      'RUN_NOT_FOUND',
    );
    expect(await count('runs', 'id = ?', unknown)).toBe(0);
    await expectError(await api(`/v1/runs/${unknown}/metrics/loss`, { key: ADMIN_KEY }), 404, 'RUN_NOT_FOUND');
    expect(await count('run_metrics', 'run_id = ?', unknown)).toBe(0);
  });

  it('ends a run, after which it takes no metrics and keeps its status', async () => {
    const run = await createRun({ model: 'runs-end' });
    expect((await logMetrics(run.id, [{ key: 'loss', value: 1, step: 0 }])).status).toBe(200);
    const ended = await sendJson('PATCH', `/v1/runs/${run.id}`, { v: 1, status: 'finished' }, ADMIN_KEY);
    expect(ended.status).toBe(200);
    const body = (await ended.json()) as Run;
    expect(body.status).toBe('finished');
    expect(body.endedAt).toBeGreaterThanOrEqual(run.createdAt);

    await expectError(await logMetrics(run.id, [{ key: 'loss', value: 0, step: 1 }]), 409, 'RUN_FINISHED');
    await expectError(
      await sendJson('PATCH', `/v1/runs/${run.id}`, { v: 1, status: 'failed', tags: { why: 'oom' } }, ADMIN_KEY),
      409,
      'RUN_FINISHED',
    );
    const again = await sendJson('PATCH', `/v1/runs/${run.id}`, { v: 1, status: 'finished' }, ADMIN_KEY);
    expect(again.status).toBe(200);
    expect(((await again.json()) as Run).endedAt).toBe(body.endedAt);
    expect(await count('run_metrics', 'run_id = ?', run.id)).toBe(1);
    expect(await getRun(run.id)).toMatchObject({ status: 'finished', tags: {} });

    for (const patch of [{ v: 1 }, { v: 1, status: 'running' }, { v: 1, versions: [] }, { status: 'killed' }]) {
      await expectError(await sendJson('PATCH', `/v1/runs/${run.id}`, patch, ADMIN_KEY), 400, 'INVALID_BODY');
    }
  });

  it('merges tags and links existing versions of the run model, all or nothing', async () => {
    await publishVersions('runs-link', 2);
    published.add('runs-link');
    const run = await createRun({ model: 'runs-link', tags: { a: '1', b: '2' }, parentVersion: 1 });
    expect(run.parentVersion).toBe(1);
    await expectError(
      await sendJson('PATCH', `/v1/runs/${run.id}`, { v: 1, tags: { c: '3' }, versions: [2, 7] }, ADMIN_KEY),
      404,
      'VERSION_NOT_FOUND',
    );
    expect(await count('run_versions', 'run_id = ?', run.id)).toBe(0);
    expect((await getRun(run.id)).tags).toEqual({ a: '1', b: '2' });

    const res = await sendJson(
      'PATCH',
      `/v1/runs/${run.id}`,
      { v: 1, status: 'finished', tags: { b: 'two', c: '3' }, versions: [2, 1] },
      ADMIN_KEY,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'finished',
      tags: { a: '1', b: 'two', c: '3' },
      versions: [1, 2],
    });
    // Linking again and tagging a finished run are fine.
    const more = await sendJson('PATCH', `/v1/runs/${run.id}`, { v: 1, versions: [2], tags: { d: '4' } }, ADMIN_KEY);
    expect(more.status).toBe(200);
    expect(await count('run_versions', 'run_id = ?', run.id)).toBe(2);

    const tooMany = Object.fromEntries(Array.from({ length: 97 }, (_, i) => [`t${i}`, 'x']));
    await expectError(
      await sendJson('PATCH', `/v1/runs/${run.id}`, { v: 1, tags: tooMany }, ADMIN_KEY),
      400,
      'INVALID_BODY',
    );
    expect(Object.keys((await getRun(run.id)).tags)).toHaveLength(4);
  });

  it('lists runs newest first, filtered, with cursor pagination', async () => {
    const created: Run[] = [];
    for (let i = 0; i < 5; i++) created.push(await createRun({ model: 'runs-list', name: `r${i}` }));
    await createRun({ model: 'runs-list-other' });
    const last = created[4] as Run;
    expect((await sendJson('PATCH', `/v1/runs/${last.id}`, { v: 1, status: 'failed' }, ADMIN_KEY)).status).toBe(200);

    const reader = await makeKey('read');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `model=runs-list&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await api(`/v1/runs?${query}`, { key: reader.key });
      expect(res.status).toBe(200);
      const page = (await res.json()) as RunList;
      expect(page.runs.length).toBeLessThanOrEqual(2);
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(created.map((r) => r.id).reverse());

    const failed = (await (await api('/v1/runs?model=runs-list&status=failed', { key: ADMIN_KEY })).json()) as RunList;
    expect(failed.runs.map((r) => r.id)).toEqual([last.id]);
    expect(failed.nextCursor).toBeNull();

    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'status=done', 'cursor=abc', 'model=Bad!']) {
      await expectError(await api(`/v1/runs?${q}`, { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    }
  });

  it('compares runs: params side by side, which differ, latest metrics', async () => {
    const a = await createRun({ model: 'runs-cmp', params: { lr: 0.1, opt: 'adam', seed: 1 } });
    const b = await createRun({ model: 'runs-cmp', params: { lr: 0.01, opt: 'adam', seed: 1, warmup: true } });
    expect(
      (
        await logMetrics(a.id, [
          { key: 'acc', value: 0.8, step: 0 },
          { key: 'acc', value: 0.9, step: 3 },
        ])
      ).status,
    ).toBe(200);
    expect((await logMetrics(b.id, [{ key: 'loss', value: 0.2, step: 1 }])).status).toBe(200);

    const reader = await makeKey('read');
    const res = await api(`/v1/runs/compare?ids=${b.id},${a.id}`, { key: reader.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual<RunComparison>({
      runs: [
        { id: b.id, model: 'runs-cmp', name: null, status: 'running', params: b.params, metrics: { loss: 0.2 } },
        { id: a.id, model: 'runs-cmp', name: null, status: 'running', params: a.params, metrics: { acc: 0.9 } },
      ],
      differingParams: ['lr', 'warmup'],
      metricKeys: ['acc', 'loss'],
    });

    const unknown = 'run_ffffffffffffffffffffffffffffffff';
    await expectError(await api(`/v1/runs/compare?ids=${a.id},${unknown}`, { key: ADMIN_KEY }), 404, 'RUN_NOT_FOUND');
    await expectError(await api(`/v1/runs/compare?ids=${a.id},${a.id}`, { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    await expectError(await api('/v1/runs/compare?ids=nope', { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    await expectError(await api('/v1/runs/compare', { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    await expectError(await api(`/v1/runs/compare?ids=${a.id}`, { key: CLIENT_KEY }), 403, 'FORBIDDEN');
  });
});
