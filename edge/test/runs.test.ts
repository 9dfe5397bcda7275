import { describe, expect, it } from 'vitest';
import type { MetricSeries, Run, RunComparison, RunList } from '../../protocol/runs.ts';
import { ADMIN_KEY, api, CLIENT_KEY, count, expectError, makeKey, sendJson } from './helpers.ts';
import { createRun, ensureModel, getRun, logMetrics, postRaw, publishVersions } from './run-helpers.ts';

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
