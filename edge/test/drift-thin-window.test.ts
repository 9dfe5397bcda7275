import { env } from 'cloudflare:workers';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { DriftWindows } from '../../protocol/drift.ts';
import { DriftReport, driftReport, WINDOW_MS } from '../../protocol/profile/index.ts';
import { MIN_JUDGED_ROWS } from '../src/drift/judge.ts';
import { driftStub } from '../src/drift/stub.ts';
import { envelope, FEATURES, hourAgo, inDistribution, postProfiles, publishDrift } from './drift-helpers.ts';
import { ADMIN_KEY, api, count } from './helpers.ts';

// Issue 14, false alarms: a fleet whose profiles straddle an hour boundary leaves a window of a
// few rows. Judged alone, its sketches look drifted by chance; it is judged with the hour before
// it, or not at all, and its report says which.

const H = WINDOW_MS;
const THIN = () => inDistribution(5, 3);

async function get<T>(schema: v.GenericSchema<unknown, T>, path: string): Promise<T> {
  const res = await api(path, { key: ADMIN_KEY });
  expect(res.status, await res.clone().text()).toBe(200);
  return v.parse(schema, await res.json());
}

const report = (model: string, version: number, from: number) =>
  get(DriftReport, `/v1/models/${model}/versions/${version}/drift?from=${from}&to=${from + H}`);

/** The reference every drift version is published with (drift-helpers' publishDrift). */
const reference = () => inDistribution(2000, 7);

describe('thin drift windows', () => {
  it('judges the few rows the fleet left in an hour together with the full hour before it', async () => {
    // The premise: judged on their own, these rows drift.
    const alone = driftReport(reference(), THIN(), { features: FEATURES.features });
    expect(alone.dataset.drifted).toBe(true);

    const version = await publishDrift('thin-after');
    const full = hourAgo(3);
    const thin = full + H;
    const res = await postProfiles('c_thin_after', [
      envelope('thin-after', version, full, inDistribution(600, 11)),
      envelope('thin-after', version, thin, THIN()),
    ]);
    expect(res.status).toBe(200);

    const r = await report('thin-after', version, thin);
    expect(r.window).toEqual({ from: thin, to: thin + H });
    expect(r.features.filter((f) => f.drifted)).toEqual([]);
    expect(r.dataset.drifted).toBe(false);
    expect(r.current.count).toBe(605);
    expect(r.basis).toMatchObject({
      judged: 'with-previous',
      span: { from: full, to: thin + H },
      rows: 5,
      minRows: MIN_JUDGED_ROWS,
    });
    expect((await report('thin-after', version, full)).basis).toMatchObject({ judged: 'alone', rows: 600 });
    expect(await driftStub(env, 'thin-after', version).alerts()).toEqual([]);
    expect(await count('drift_alerts', 'model = ?', 'thin-after')).toBe(0);
  });

  it('does not judge a thin hour with nothing before it, and says so', async () => {
    const version = await publishDrift('thin-before');
    const thin = hourAgo(6);
    const full = thin + H;
    const res = await postProfiles('c_thin_before', [
      envelope('thin-before', version, thin, THIN()),
      envelope('thin-before', version, full, inDistribution(600, 12)),
    ]);
    expect(res.status).toBe(200);

    const r = await report('thin-before', version, thin);
    expect(r.features.map((f) => [f.statistic, f.drifted])).toEqual([
      [null, false],
      [null, false],
    ]);
    expect(r.dataset.drifted).toBe(false);
    expect(r.current.count).toBe(0);
    expect(r.basis).toMatchObject({ judged: 'too-small', span: { from: thin, to: thin + H }, rows: 5 });

    // The chart's windows say the same, each with its own rows.
    const path = `/v1/models/thin-before/versions/${version}/drift/windows?from=${thin}&to=${full + H}`;
    const { windows } = await get(DriftWindows, path);
    expect(
      windows.map((w) => [w.from, w.report.basis?.judged, w.report.basis?.rows, w.report.dataset.drifted]),
    ).toEqual([
      [thin, 'too-small', 5, false],
      [full, 'alone', 600, false],
    ]);
    expect(await driftStub(env, 'thin-before', version).alerts()).toEqual([]);
  });
});
