import { env } from 'cloudflare:workers';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import { buildProfile, ProfileBatchResult, WINDOW_MS } from '../../protocol/profile/index.ts';
import { driftStub } from '../src/drift/stub.ts';
import {
  driftManifest,
  driftModelFiles,
  envelope,
  FEATURES,
  hourAgo,
  inDistribution,
  mergedOf,
  postProfiles,
  publishDrift,
} from './drift-helpers.ts';
import {
  ADMIN_KEY,
  api,
  CLIENT_KEY,
  count,
  expectError,
  publish,
  registerClient,
  sendAsClient,
  sendJson,
} from './helpers.ts';

const H = WINDOW_MS;

async function result(res: Response): Promise<ProfileBatchResult> {
  expect(res.status, await res.clone().text()).toBe(200);
  return v.parse(ProfileBatchResult, await res.json());
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('POST /v1/profiles', () => {
  it('merges accepted profiles into their hour windows', async () => {
    const version = await publishDrift('pr-accept');
    const w = hourAgo(3);
    const res = await postProfiles('c_accept1', [
      envelope('pr-accept', version, w, inDistribution(100, 1)),
      envelope('pr-accept', version, w, inDistribution(50, 2)),
      envelope('pr-accept', version, w + H, inDistribution(30, 3)),
    ]);
    expect(await result(res)).toEqual({ accepted: 3, duplicates: 0, capped: 0, rejected: [] });
    const first = await mergedOf('pr-accept', version, w, w + H);
    expect(first.profile?.count).toBe(150);
    expect(first).toMatchObject({ windows: 1, clients: 1 });
    const both = await mergedOf('pr-accept', version, w, w + 2 * H);
    expect(both.profile?.count).toBe(180);
    expect(both.windows).toBe(2);
  });

  it('accepts gzip', async () => {
    const version = await publishDrift('pr-gzip');
    const { clientId, token } = await registerClient();
    const body = JSON.stringify({
      v: 1,
      clientId,
      profiles: [envelope('pr-gzip', version, hourAgo(1), inDistribution(20, 4))],
    });
    const res = await api('/v1/profiles', {
      method: 'POST',
      key: CLIENT_KEY,
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', [CLIENT_TOKEN_HEADER]: token },
      body: await gzip(body),
    });
    expect((await result(res)).accepted).toBe(1);
  });

  it('counts a retried id as a duplicate, even with other content, and changes nothing', async () => {
    const version = await publishDrift('pr-dup');
    const w = hourAgo(2);
    const first = envelope('pr-dup', version, w, inDistribution(100, 5));
    expect((await result(await postProfiles('c_dup1', [first]))).accepted).toBe(1);
    const before = await mergedOf('pr-dup', version, w, w + H);
    const altered = { ...first, profile: inDistribution(400, 6) };
    expect(await result(await postProfiles('c_dup1', [altered, first]))).toEqual({
      accepted: 0,
      duplicates: 2,
      capped: 0,
      rejected: [],
    });
    expect(await mergedOf('pr-dup', version, w, w + H)).toEqual(before);
    // The same id from another client is another profile.
    expect((await result(await postProfiles('c_dup2', [first]))).accepted).toBe(1);
    expect((await mergedOf('pr-dup', version, w, w + H)).profile?.count).toBe(200);
  });

  it("caps one client's rows per window; other clients are still merged", async () => {
    const version = await publishDrift('pr-cap');
    const w = hourAgo(4);
    const flood = [1, 2, 3].map((seed) => envelope('pr-cap', version, w, inDistribution(800, seed)));
    // 800 + 800 fit the default cap of 2000 rows; the third would pass it.
    expect(await result(await postProfiles('c_flood', flood))).toEqual({
      accepted: 2,
      duplicates: 0,
      capped: 1,
      rejected: [],
    });
    // A capped profile is recorded: its retry is a duplicate.
    expect((await result(await postProfiles('c_flood', [flood[2]]))).duplicates).toBe(1);
    // The cap is per window: the next hour takes the client's profiles again.
    expect(
      (await result(await postProfiles('c_flood', [envelope('pr-cap', version, w + H, inDistribution(800, 9))])))
        .accepted,
    ).toBe(1);
    expect(
      (await result(await postProfiles('c_other', [envelope('pr-cap', version, w, inDistribution(800, 4))]))).accepted,
    ).toBe(1);
    const merged = await mergedOf('pr-cap', version, w, w + H);
    expect(merged.profile?.count).toBe(2400);
    expect(merged.clients).toBe(2);
  });

  it('rejects bad envelopes by index with stable codes and stores none of them', async () => {
    const version = await publishDrift('pr-reject');
    const old = await publishDrift('pr-reject');
    expect((await api(`/v1/models/pr-reject/versions/${old}/archive`, { method: 'POST', key: ADMIN_KEY })).status).toBe(
      200,
    );
    const w = hourAgo(5);
    const good = inDistribution(10, 1);
    const wrongKind = { ...good, features: { ...good.features, x: good.features.color } };
    const twoClasses = { ...good, outputs: { kind: 'classes', counts: [4, 6] } };
    const x = good.features.x;
    const badSketch = x?.kind === 'numeric' ? { ...x, sketch: { ...x.sketch, levels: ['not base64!'] } } : x;
    const feedback = buildProfile([{ x: 1 }], FEATURES, {
      feedback: [{ actual: 0, predicted: 1, confidence: 0.8 }],
      classes: 3,
    }).feedback;
    const future = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS + 2 * H;
    const batch = [
      envelope('pr-reject', version, w, good, 'bad id with spaces'),
      envelope('pr-reject', version, w + 1, good),
      envelope('pr-reject', version, w, { v: 2 }),
      envelope('pr-reject', version, future, good),
      envelope('pr-reject', version + 5, w, good),
      envelope('pr-nosuchmodel', 1, w, good),
      envelope('pr-reject', old, w, good),
      envelope('pr-reject', version, w, { ...good, features: { ...good.features, extra: good.features.x } }),
      envelope('pr-reject', version, w, wrongKind),
      envelope('pr-reject', version, w, twoClasses),
      envelope('pr-reject', version, w, { ...good, features: { ...good.features, x: badSketch } }),
      envelope('pr-reject', version, w, { ...good, feedback: { ...feedback, confusion: [1, 2, 3, 4] } }),
    ];
    const out = await result(await postProfiles('c_reject', batch));
    expect(out.accepted + out.duplicates + out.capped).toBe(0);
    expect(out.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'INVALID_PROFILE'],
      [1, 'INVALID_PROFILE'],
      [2, 'INVALID_PROFILE'],
      [3, 'INVALID_PROFILE'],
      [4, 'VERSION_NOT_FOUND'],
      [5, 'VERSION_NOT_FOUND'],
      [6, 'VERSION_ARCHIVED'],
      [7, 'PROFILE_MISMATCH'],
      [8, 'PROFILE_MISMATCH'],
      [9, 'PROFILE_MISMATCH'],
      [10, 'INVALID_PROFILE'],
      [11, 'INVALID_PROFILE'],
    ]);
    for (const r of out.rejected) expect(r.message.length).toBeGreaterThan(0);
    for (const n of [version, old]) expect((await mergedOf('pr-reject', n, 0, future + H)).windows).toBe(0);
    // One good envelope among bad ones is merged.
    const mixed = await result(await postProfiles('c_reject', [batch[3], envelope('pr-reject', version, w, good)]));
    expect(mixed).toMatchObject({ accepted: 1, rejected: [{ index: 0, code: 'INVALID_PROFILE' }] });
  });

  it('rejects by index a profile that cannot merge with its window, leaving the window as it was', async () => {
    // One output: the manifest says nothing of classes, so only the merge can tell.
    const man = { ...driftManifest('pr-merge', false), outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }] };
    const res = await publish('pr-merge', driftModelFiles('pr-merge', 1), man);
    expect(res.status).toBe(201);
    const w = hourAgo(2);
    const withClasses = (counts: number[]) => ({ ...inDistribution(10, 1), outputs: { kind: 'classes', counts } });
    expect(
      (await result(await postProfiles('merge1', [envelope('pr-merge', 1, w, withClasses([4, 6]))]))).accepted,
    ).toBe(1);
    const before = await mergedOf('pr-merge', 1, w, w + H);
    const out = await result(
      await postProfiles('merge2', [
        envelope('pr-merge', 1, w - H, withClasses([1, 2, 3])),
        envelope('pr-merge', 1, w, withClasses([1, 2, 3])),
      ]),
    );
    expect(out).toMatchObject({ accepted: 1, rejected: [{ index: 1, code: 'PROFILE_MISMATCH' }] });
    expect(await mergedOf('pr-merge', 1, w, w + H)).toEqual(before);
  });

  it('refuses a malformed batch whole, writing nothing', async () => {
    const version = await publishDrift('pr-malformed');
    const w = hourAgo(1);
    const one = envelope('pr-malformed', version, w, inDistribution(10, 1));
    const bad = [
      { v: 1, clientId: 'c_malformed', profiles: [] },
      { v: 2, clientId: 'c_malformed', profiles: [one] },
      { v: 1, clientId: 'not a client id!', profiles: [one] },
      { v: 1, clientId: 'c_malformed', profiles: Array.from({ length: 51 }, () => one) },
      { v: 1, clientId: 'c_malformed', profiles: [one], extra: true },
    ];
    for (const body of bad)
      await expectError(await sendJson('POST', '/v1/profiles', body, CLIENT_KEY), 400, 'INVALID_BODY');
    await expectError(
      await api('/v1/profiles', {
        method: 'POST',
        key: CLIENT_KEY,
        headers: { 'Content-Type': 'application/json' },
        body: '{',
      }),
      400,
      'INVALID_BODY',
    );
    await expectError(
      await api('/v1/profiles', {
        method: 'POST',
        key: CLIENT_KEY,
        headers: { 'Content-Type': 'text/plain' },
        body: '{}',
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectError(
      await api('/v1/profiles', {
        method: 'POST',
        key: CLIENT_KEY,
        headers: { 'Content-Type': 'application/json' },
        body: 'x'.repeat(2 * 1024 * 1024 + 1),
      }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect((await mergedOf('pr-malformed', version, w, w + H)).windows).toBe(0);
    expect(await driftStub(env, 'pr-malformed', version).alerts()).toEqual([]);
    expect(await count('drift_alerts', 'model = ?', 'pr-malformed')).toBe(0);
  });

  it('refuses a missing, wrong or other client token, and a revoked client, writing nothing', async () => {
    const version = await publishDrift('pr-token');
    const w = hourAgo(1);
    const me = await registerClient();
    const other = await registerClient();
    const body = { v: 1, clientId: me.clientId, profiles: [envelope('pr-token', version, w, inDistribution(10, 1))] };
    await expectError(await sendAsClient('POST', '/v1/profiles', body, undefined), 401, 'INVALID_CLIENT_TOKEN');
    await expectError(
      await sendAsClient('POST', '/v1/profiles', body, `${me.clientId}.forged`),
      401,
      'INVALID_CLIENT_TOKEN',
    );
    await expectError(await sendAsClient('POST', '/v1/profiles', body, other.token), 401, 'INVALID_CLIENT_TOKEN');
    expect((await api(`/v1/clients/${me.clientId}/revoke`, { method: 'POST', key: ADMIN_KEY })).status).toBe(200);
    await expectError(await sendAsClient('POST', '/v1/profiles', body, me.token), 403, 'CLIENT_REVOKED');
    expect((await mergedOf('pr-token', version, w, w + H)).windows).toBe(0);
  });
});
