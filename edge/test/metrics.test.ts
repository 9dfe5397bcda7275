import { describe, expect, it } from 'vitest';
import { escapeLabel } from '../src/routes/metrics.ts';
import { envelope, hourAgo, postProfiles, publishDrift, shifted } from './drift-helpers.ts';
import { api, expectError, makeKey } from './helpers.ts';

describe('GET /metrics', () => {
  it('exposes the latest drift verdicts in Prometheus text format', async () => {
    const version = await publishDrift('mt-drift');
    const res = await postProfiles('c_metrics', [envelope('mt-drift', version, hourAgo(1), shifted(300, 1))]);
    expect(res.status).toBe(200);
    const reader = await makeKey('read');
    const metrics = await api('/metrics', { key: reader.key });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    const lines = text.split('\n');
    for (const name of [
      'edgeloop_drift_statistic',
      'edgeloop_drift_threshold',
      'edgeloop_drift_detected',
      'edgeloop_drift_dataset_share',
    ]) {
      expect(lines).toContain(`# TYPE ${name} gauge`);
      expect(lines.some((l) => l.startsWith(`# HELP ${name} `))).toBe(true);
    }
    expect(lines).toContain('# TYPE edgeloop_drift_alerts_total counter');
    const labels = `model="mt-drift",version="${version}",feature="x",method="wasserstein"`;
    expect(lines).toContain(`edgeloop_drift_detected{${labels}} 1`);
    expect(lines).toContain(`edgeloop_drift_threshold{${labels}} 0.1`);
    expect(lines.some((l) => new RegExp(`^edgeloop_drift_statistic\\{${labels}\\} [0-9.e+-]+$`).test(l))).toBe(true);
    expect(lines).toContain(`edgeloop_drift_dataset_share{model="mt-drift",version="${version}"} 1`);
    expect(lines).toContain(`edgeloop_drift_alerts_total{model="mt-drift",version="${version}"} 1`);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('needs a read key', async () => {
    await expectError(await api('/metrics'), 401, 'UNAUTHORIZED');
    const client = await makeKey('client');
    await expectError(await api('/metrics', { key: client.key }), 403, 'FORBIDDEN');
  });

  it('escapes label values', () => {
    expect(escapeLabel('a "b" \\ c\nd')).toBe('a \\"b\\" \\\\ c\\nd');
  });
});
