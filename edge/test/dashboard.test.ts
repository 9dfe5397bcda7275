import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { AlertList, DistributionComparison, type FeatureDistribution, WhoAmI } from '../../protocol/dashboard.ts';
import { WINDOW_MS } from '../../protocol/profile/index.ts';
import { envelope, hourAgo, inDistribution, postProfiles, publishDrift, shifted } from './drift-helpers.ts';
import { ADMIN_KEY, api, CLIENT_KEY, expectError, makeKey, sendJson } from './helpers.ts';

const H = WINDOW_MS;

async function getJson<T>(schema: v.GenericSchema<unknown, T>, path: string, key = ADMIN_KEY): Promise<T> {
  const res = await api(path, { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return v.parse(schema, await res.json());
}

async function ingest(client: string, profiles: unknown[]): Promise<void> {
  const res = await postProfiles(client, profiles);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { rejected: unknown[] }).rejected).toEqual([]);
}

const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);
/** The share-weighted mean bin index: where the mass of a histogram sits. */
const centre = (shares: readonly number[]) => sum(shares.map((s, i) => s * i)) / sum(shares);
const feature = (d: DistributionComparison, name: string): FeatureDistribution | undefined =>
  d.features.find((f) => f.name === name);

describe('GET /v1/keys/me', () => {
  it('tells any valid key its own scopes, even though /v1/keys is admin only', async () => {
    const reader = await makeKey('read');
    const me = await getJson(WhoAmI, '/v1/keys/me', reader.key);
    expect(me).toEqual({ v: 1, keyId: reader.id, scopes: ['read'] });
    await expectError(await api('/v1/keys', { key: reader.key }), 403, 'FORBIDDEN');
    const publisher = await makeKey('publish');
    expect((await getJson(WhoAmI, '/v1/keys/me', publisher.key)).scopes).toEqual(['publish']);
    expect((await getJson(WhoAmI, '/v1/keys/me', CLIENT_KEY)).scopes).toEqual(['client']);
    expect((await getJson(WhoAmI, '/v1/keys/me')).scopes).toContain('admin');
    await expectError(await api('/v1/keys/me'), 401, 'UNAUTHORIZED');
    await expectError(await api('/v1/keys/me', { key: 'el_nope' }), 401, 'UNAUTHORIZED');
  });
});

describe('GET /v1/models/{model}/versions/{version}/alerts', () => {
  it('lists drifted windows newest first, with their features and acknowledgement', async () => {
    const version = await publishDrift('dash-alerts');
    const path = `/v1/models/dash-alerts/versions/${version}/alerts`;
    expect((await getJson(AlertList, path)).alerts).toEqual([]);
    const early = hourAgo(5);
    const late = hourAgo(2);
    await ingest('c_dashalerts1', [
      envelope('dash-alerts', version, early, shifted(500, 1)),
      envelope('dash-alerts', version, hourAgo(3), inDistribution(500, 2)),
      envelope('dash-alerts', version, late, shifted(500, 3)),
    ]);
    const reader = await makeKey('read');
    const listed = await getJson(AlertList, path, reader.key);
    expect(listed).toMatchObject({ v: 1, model: 'dash-alerts', version });
    expect(listed.alerts.map((a) => a.window)).toEqual([
      { from: late, to: late + H },
      { from: early, to: early + H },
    ]);
    expect(listed.alerts[0]).toMatchObject({ drifted: ['x', 'color'], datasetDrifted: true, acknowledgedAt: null });

    const ack = await sendJson('POST', `/v1/models/dash-alerts/versions/${version}/drift/ack`, {}, ADMIN_KEY);
    expect(ack.status).toBe(200);
    const acknowledged = await getJson(AlertList, path);
    expect(acknowledged.alerts.every((a) => typeof a.acknowledgedAt === 'number')).toBe(true);
  });

  it('answers 404 for an unknown model or version and 403 for a client key', async () => {
    const version = await publishDrift('dash-alerts-404');
    await expectError(
      await api('/v1/models/dash-nobody/versions/1/alerts', { key: ADMIN_KEY }),
      404,
      'MODEL_NOT_FOUND',
    );
    await expectError(
      await api(`/v1/models/dash-alerts-404/versions/${version + 1}/alerts`, { key: ADMIN_KEY }),
      404,
      'VERSION_NOT_FOUND',
    );
    await expectError(
      await api(`/v1/models/dash-alerts-404/versions/${version}/alerts`, { key: CLIENT_KEY }),
      403,
      'FORBIDDEN',
    );
  });
});

describe('GET /v1/models/{model}/versions/{version}/drift/distributions', () => {
  it('shows the reference beside the current data: a shifted range moves the histogram and the categories', async () => {
    const version = await publishDrift('dash-dist');
    const calm = hourAgo(4);
    const storm = hourAgo(3);
    await ingest('c_dashdist1', [
      envelope('dash-dist', version, calm, inDistribution(800, 21)),
      envelope('dash-dist', version, storm, shifted(800, 22)),
    ]);
    const base = `/v1/models/dash-dist/versions/${version}/drift/distributions`;
    const quiet = await getJson(DistributionComparison, `${base}?from=${calm}&to=${calm + H}`);
    expect(quiet).toMatchObject({
      v: 1,
      model: 'dash-dist',
      version,
      reference: { count: 2000 },
      current: { count: 800 },
    });
    expect(quiet.features.map((f) => f.name)).toEqual(['color', 'x']);
    const loud = await getJson(DistributionComparison, `${base}?from=${storm}&to=${storm + H}`);

    const x = feature(quiet, 'x');
    const xLoud = feature(loud, 'x');
    if (x?.kind !== 'numeric' || xLoud?.kind !== 'numeric') throw new Error('x should be numeric');
    for (const shares of [x.reference, x.current, xLoud.current]) expect(sum(shares)).toBeCloseTo(1, 6);
    expect(x.edges).toHaveLength(x.reference.length + 1);
    // N(0, 1) against N(3, 1): the current mass sits to the right of the reference's.
    expect(Math.abs(centre(x.current) - centre(x.reference))).toBeLessThan(2);
    expect(centre(xLoud.current) - centre(xLoud.reference)).toBeGreaterThan(4);

    const color = feature(loud, 'color');
    if (color?.kind !== 'categorical') throw new Error('color should be categorical');
    expect(color.categories).toEqual(['blue', 'green', 'red', 'other']);
    const blue = (shares: number[]) => shares[0] ?? 0;
    expect(blue(color.reference)).toBeLessThan(0.2);
    expect(blue(color.current)).toBeGreaterThan(0.6);
  });

  it('reports an empty range with zero current shares, and 409 without a reference', async () => {
    const version = await publishDrift('dash-dist-empty');
    const empty = await getJson(
      DistributionComparison,
      `/v1/models/dash-dist-empty/versions/${version}/drift/distributions?from=${hourAgo(30)}&to=${hourAgo(29)}`,
    );
    expect(empty.current.count).toBe(0);
    for (const f of empty.features) {
      expect(sum(f.current)).toBe(0);
      expect(sum(f.reference)).toBeCloseTo(1, 6);
    }
    const bare = await publishDrift('dash-dist-bare', false);
    await expectError(
      await api(`/v1/models/dash-dist-bare/versions/${bare}/drift/distributions`, { key: ADMIN_KEY }),
      409,
      'NO_REFERENCE',
    );
    await expectError(
      await api(`/v1/models/dash-dist-bare/versions/${bare + 1}/drift/distributions`, { key: ADMIN_KEY }),
      404,
      'VERSION_NOT_FOUND',
    );
  });
});
