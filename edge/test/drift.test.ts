import { env } from 'cloudflare:workers';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { DriftWindows } from '../../protocol/drift.ts';
import { DriftReport, WINDOW_MS } from '../../protocol/profile/index.ts';
import { ModelList } from '../../protocol/registry.ts';
import { driftStub } from '../src/drift/stub.ts';
import { envelope, hourAgo, inDistribution, postProfiles, publishDrift, shifted } from './drift-helpers.ts';
import { ADMIN_KEY, api, count, expectError, makeKey, sendJson } from './helpers.ts';

const H = WINDOW_MS;

async function report(model: string, version: number, query: string): Promise<DriftReport> {
  const res = await api(`/v1/models/${model}/versions/${version}/drift${query}`, { key: ADMIN_KEY });
  expect(res.status, await res.clone().text()).toBe(200);
  return v.parse(DriftReport, await res.json());
}

async function ingest(clientId: string, profiles: unknown[]): Promise<void> {
  const res = await postProfiles(clientId, profiles);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { rejected: unknown[] }).rejected).toEqual([]);
}

const drifted = (r: DriftReport) =>
  r.features
    .filter((f) => f.drifted)
    .map((f) => f.name)
    .sort();

describe('GET /v1/models/{model}/versions/{version}/drift', () => {
  it('reports in-distribution data as not drifted and shifted data as drifted, by window', async () => {
    const version = await publishDrift('dr-report');
    const calm = hourAgo(6);
    const storm = hourAgo(5);
    await ingest('c_report1', [
      envelope('dr-report', version, calm, inDistribution(600, 11)),
      envelope('dr-report', version, storm, shifted(600, 12)),
    ]);
    const quiet = await report('dr-report', version, `?from=${calm}&to=${calm + H}`);
    expect(quiet).toMatchObject({ v: 1, model: 'dr-report', version, window: { from: calm, to: calm + H } });
    expect(quiet.reference.count).toBe(2000);
    expect(quiet.current.count).toBe(600);
    expect(drifted(quiet)).toEqual([]);
    expect(quiet.dataset.drifted).toBe(false);

    // ISO 8601 works, and a range inside an hour widens to that hour.
    const iso = (ms: number) => new Date(ms).toISOString();
    const loud = await report('dr-report', version, `?from=${iso(storm + 600_000)}&to=${iso(storm + 1_200_000)}`);
    expect(loud.window).toEqual({ from: storm, to: storm + H });
    expect(loud.current.count).toBe(600);
    expect(drifted(loud)).toEqual(['color', 'x']);
    expect(loud.dataset).toMatchObject({ drifted: true, driftedShare: 1 });

    const both = await report('dr-report', version, `?from=${calm}&to=${storm + H}`);
    expect(both.current.count).toBe(1200);
  });

  it('covers the last 24 hours by default and reports an empty range with count 0', async () => {
    const version = await publishDrift('dr-default');
    await ingest('c_default', [
      envelope('dr-default', version, hourAgo(2), inDistribution(100, 1)),
      envelope('dr-default', version, hourAgo(30), inDistribution(70, 2)),
    ]);
    const last = await report('dr-default', version, '');
    expect(last.current.count).toBe(100);
    expect(last.window.to - last.window.from).toBeLessThanOrEqual(25 * H);
    const empty = await report('dr-default', version, `?from=${hourAgo(50)}&to=${hourAgo(40)}`);
    expect(empty.current.count).toBe(0);
    expect(empty.dataset.drifted).toBe(false);
  });

  it('refuses bad ranges, unknown versions and versions without a reference', async () => {
    const version = await publishDrift('dr-errors');
    const bare = await publishDrift('dr-errors', false);
    const path = (q: string, n = version) => `/v1/models/dr-errors/versions/${n}/drift${q}`;
    const day = 86_400_000;
    for (const q of ['?from=10&to=5', '?from=5&to=5', `?from=0&to=${91 * day}`, '?from=yesterday', '?to=2026-13-45']) {
      await expectError(await api(path(q), { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    }
    expect((await api(path(`?from=0&to=${90 * day}`), { key: ADMIN_KEY })).status).toBe(200);
    await expectError(await api(path('', version + 9), { key: ADMIN_KEY }), 404, 'VERSION_NOT_FOUND');
    await expectError(await api('/v1/models/dr-nosuch/versions/1/drift', { key: ADMIN_KEY }), 404, 'MODEL_NOT_FOUND');
    const message = await expectError(await api(path('', bare), { key: ADMIN_KEY }), 409, 'NO_REFERENCE');
    expect(message).toMatch(/--reference/);
    await expectError(
      await api(`${path('', bare).replace('/drift', '/drift/windows')}`, { key: ADMIN_KEY }),
      409,
      'NO_REFERENCE',
    );
  });

  it('answers one report per hour with data on /drift/windows', async () => {
    const version = await publishDrift('dr-windows');
    const a = hourAgo(8);
    const b = hourAgo(6);
    await ingest('c_windows', [
      envelope('dr-windows', version, b, shifted(300, 1)),
      envelope('dr-windows', version, a, inDistribution(300, 2)),
    ]);
    const res = await api(`/v1/models/dr-windows/versions/${version}/drift/windows?from=${a}&to=${b + H}`, {
      key: ADMIN_KEY,
    });
    expect(res.status).toBe(200);
    const body = v.parse(DriftWindows, await res.json());
    expect(body.windows.map((w) => [w.from, w.to, w.report.dataset.drifted])).toEqual([
      [a, a + H, false],
      [b, b + H, true],
    ]);
    const none = await api(`/v1/models/dr-windows/versions/${version}/drift/windows?from=${a}&to=${a + 1}`, {
      key: ADMIN_KEY,
    });
    expect(v.parse(DriftWindows, await none.json()).windows).toHaveLength(1);
  });
});

describe('drift alerts', () => {
  it('records an alert once per window, even as more profiles arrive', async () => {
    const version = await publishDrift('dr-alert');
    const w = hourAgo(3);
    await ingest('c_alert1', [envelope('dr-alert', version, w, shifted(400, 1))]);
    await ingest('c_alert2', [envelope('dr-alert', version, w, shifted(400, 2))]);
    await ingest('c_alert3', [envelope('dr-alert', version, w, inDistribution(100, 3))]);
    const alerts = await driftStub(env, 'dr-alert', version).alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.alert).toMatchObject({
      type: 'drift',
      model: 'dr-alert',
      version,
      window: { from: w, to: w + H },
    });
    expect(alerts[0]?.alert.drifted.sort()).toEqual(['color', 'x']);
    expect(await count('drift_alerts', 'model = ? AND version = ?', 'dr-alert', version)).toBe(1);
    // A calm window raises nothing.
    await ingest('c_alert1', [envelope('dr-alert', version, w - H, inDistribution(400, 4))]);
    expect(await driftStub(env, 'dr-alert', version).alerts()).toHaveLength(1);
  });

  it('raises no alert for a version without a reference', async () => {
    const version = await publishDrift('dr-noref', false);
    await ingest('c_noref', [envelope('dr-noref', version, hourAgo(1), shifted(300, 1))]);
    expect(await driftStub(env, 'dr-noref', version).alerts()).toEqual([]);
    expect(await count('drift_alerts', 'model = ?', 'dr-noref')).toBe(0);
  });

  it('shows attention on GET /v1/models until the version is acknowledged', async () => {
    const version = await publishDrift('dr-attn');
    expect((await sendJson('PUT', `/v1/models/dr-attn/aliases/production`, { version }, ADMIN_KEY)).status).toBe(200);
    const attention = async () => {
      const res = await api('/v1/models', { key: ADMIN_KEY });
      const list = v.parse(ModelList, await res.json());
      return list.models.find((m) => m.name === 'dr-attn')?.attention;
    };
    expect(await attention()).toEqual({});
    const w = hourAgo(4);
    await ingest('c_attn', [
      envelope('dr-attn', version, w, shifted(300, 1)),
      envelope('dr-attn', version, w + H, shifted(300, 2)),
    ]);
    expect(await attention()).toEqual({ production: { version, windows: 2, drifted: ['color', 'x'], since: w } });

    const reader = await makeKey('read');
    await expectError(
      await api(`/v1/models/dr-attn/versions/${version}/drift/ack`, { method: 'POST', key: reader.key }),
      403,
      'FORBIDDEN',
    );
    const ack = await api(`/v1/models/dr-attn/versions/${version}/drift/ack`, { method: 'POST', key: ADMIN_KEY });
    expect(await ack.json()).toEqual({ acknowledged: 2 });
    expect(await attention()).toEqual({});
    const again = await api(`/v1/models/dr-attn/versions/${version}/drift/ack`, { method: 'POST', key: ADMIN_KEY });
    expect(await again.json()).toEqual({ acknowledged: 0 });
    // An acknowledged window does not alert again; a new drifted window does.
    await ingest('c_attn2', [envelope('dr-attn', version, w, shifted(300, 3))]);
    expect(await attention()).toEqual({});
    await ingest('c_attn2', [envelope('dr-attn', version, w + 2 * H, shifted(300, 4))]);
    expect((await attention())?.production?.windows).toBe(1);
    await expectError(
      await api(`/v1/models/dr-attn/versions/${version + 3}/drift/ack`, { method: 'POST', key: ADMIN_KEY }),
      404,
      'VERSION_NOT_FOUND',
    );
  });
});
