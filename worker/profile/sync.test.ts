import { afterEach, describe, expect, it, vi } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { MAX_PROFILES_PER_BATCH, WINDOW_MS } from '../../protocol/profile/index.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels } from '../test/harness.ts';
import { profiledWorker } from '../test/profiled.ts';

const posts = (edge: FakeEdge) => edge.requests.filter((r) => r.path === '/v1/profiles');
const none = { sent: 0, accepted: 0, duplicates: 0, capped: 0, rejected: 0 };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('profile sync', () => {
  it('seals the open profiles after the events, sends them, marks them sent and opens new ones', async () => {
    const { api, edge, profiles, clientId } = await profiledWorker();
    expect((await api.sync()).profiles).toEqual(none);
    for (let i = 0; i < 3; i++) await api.predict(pixels(i), { features: { device: 'pen' } });

    const result = await api.sync();
    expect(result).toMatchObject({ sent: 3, accepted: 3, pending: 0 });
    expect(result.profiles).toEqual({ ...none, sent: 1, accepted: 1 });
    const order = edge.requests.filter((r) => r.method === 'POST').map((r) => r.path);
    // Registration happened at init; both writes carry the token it issued.
    expect(order).toEqual(['/v1/clients', '/v1/events', '/v1/profiles']);
    const [sent] = await profiles();
    expect(sent).toMatchObject({ state: 'sent', rows: 3 });
    expect(edge.profiles.get(`${clientId}/${sent?.id}`)).toMatchObject({
      id: sent?.id,
      model: 'digits',
      version: 1,
      window: sent?.window,
      profile: sent?.profile,
    });
    expect(posts(edge)[0]?.body).toMatchObject({ v: 1, clientId });
    expect((await api.status()).lastSync?.profiles).toEqual(result.profiles);

    await api.predict(pixels(4));
    const rows = await profiles();
    expect(rows.map((r) => [r.state, r.rows])).toEqual([
      ['sent', 3],
      ['open', 1],
    ]);
    expect(rows[1]?.id).not.toBe(rows[0]?.id);
    expect((await api.sync()).profiles).toEqual({ ...none, sent: 1, accepted: 1 });
    expect(edge.profiles.size).toBe(2);
    await api.dispose();
  });

  it('sends at most 50 profiles per request, oldest window first', async () => {
    const { api, edge } = await profiledWorker();
    const start = Date.UTC(2026, 0, 1);
    const now = vi.spyOn(Date, 'now');
    for (let h = 0; h < 60; h++) {
      now.mockReturnValue(start + h * WINDOW_MS);
      await api.predict(pixels(h));
    }
    const result = await api.sync();
    expect(result.profiles).toEqual({ ...none, sent: 60, accepted: 60 });
    const bodies = posts(edge).map((r) => r.body as { profiles: { window: number }[] });
    expect(bodies.map((b) => b.profiles.length)).toEqual([MAX_PROFILES_PER_BATCH, 10]);
    const windows = bodies.flatMap((b) => b.profiles.map((p) => p.window));
    expect(windows).toEqual(Array.from({ length: 60 }, (_, h) => start + h * WINDOW_MS));
    await api.dispose();
  });

  it('leaves profiles sealed when the request fails, and resends them with the same id', async () => {
    const { api, edge, profiles } = await profiledWorker();
    await api.predict(pixels(1));
    edge.profilesFailures = ['network', 500];
    expect(await api.sync().catch((e: unknown) => EdgeloopError.from(e))).toMatchObject({ code: 'NETWORK' });
    expect((await profiles()).map((r) => r.state)).toEqual(['sealed']);
    expect(await api.sync().catch((e: unknown) => EdgeloopError.from(e))).toMatchObject({ code: 'EDGE_ERROR' });

    // Predictions meanwhile go to a new open profile, not into the sealed one.
    await api.predict(pixels(2));
    expect((await profiles()).map((r) => [r.state, r.rows])).toEqual([
      ['sealed', 1],
      ['open', 1],
    ]);
    expect((await api.sync()).profiles).toEqual({ ...none, sent: 2, accepted: 2 });
    const ids = posts(edge).map((r) => (r.body as { profiles: { id: string }[] }).profiles.map((p) => p.id));
    expect(ids[0]).toEqual(ids[1]);
    expect(ids[2]).toContain(ids[0]?.[0]);
    await api.dispose();
  });

  it('retries a profile whose reply was lost as a duplicate, counted once by the edge', async () => {
    const { api, edge, profiles } = await profiledWorker();
    for (let i = 0; i < 4; i++) await api.predict(pixels(i));
    edge.profilesFailures = ['lost-reply'];
    await expect(api.sync()).rejects.toMatchObject({ code: 'NETWORK' });
    expect(edge.profiles.size).toBe(1);
    expect((await profiles())[0]?.state).toBe('sealed');

    const retry = await api.sync();
    expect(retry.profiles).toEqual({ ...none, sent: 1, duplicates: 1 });
    expect(edge.profiles.size).toBe(1);
    const [stored] = [...edge.profiles.values()];
    expect(stored?.profile.count).toBe(4);
    expect((await profiles()).map((r) => r.state)).toEqual(['sent']);
    await api.dispose();
  });

  it('marks refused profiles rejected with the edge code and never resends them; capped ones count as sent', async () => {
    const { api, edge, profiles } = await profiledWorker();
    const start = Date.UTC(2026, 0, 1);
    const now = vi.spyOn(Date, 'now');
    for (let h = 0; h < 3; h++) {
      now.mockReturnValue(start + h * WINDOW_MS);
      await api.predict(pixels(h));
    }
    edge.judgeProfile = (p) =>
      p.window === start ? 'PROFILE_MISMATCH' : p.window === start + WINDOW_MS ? 'capped' : null;
    expect((await api.sync()).profiles).toEqual({ sent: 3, accepted: 1, duplicates: 0, capped: 1, rejected: 1 });
    const rows = await profiles();
    expect(rows.map((r) => r.state)).toEqual(['rejected', 'sent', 'sent']);
    expect(rows[0]?.rejection).toEqual({ code: 'PROFILE_MISMATCH', message: 'refused' });

    expect((await api.sync()).profiles).toEqual(none);
    expect(posts(edge)).toHaveLength(1);
    await api.dispose();
  });

  it('counts every prediction once when predictions run while a sync seals', async () => {
    const { api, edge, profiles } = await profiledWorker();
    for (let i = 0; i < 3; i++) await api.predict(pixels(i));
    const during = Array.from({ length: 6 }, (_, i) => api.predict(pixels(10 + i)));
    const [synced] = await Promise.all([api.sync(), ...during]);
    expect(synced.profiles.rejected).toBe(0);
    await api.sync();

    const rows = await profiles();
    expect(rows.every((r) => r.state === 'sent')).toBe(true);
    expect(rows.reduce((s, r) => s + r.rows, 0)).toBe(9);
    const atEdge = [...edge.profiles.values()].reduce((s, p) => s + p.profile.count, 0);
    expect(atEdge).toBe(9);
    await api.dispose();
  });

  it('keeps profiles sealed when the acknowledgement does not add up', async () => {
    const edge = new FakeEdge();
    const real = edge.fetch;
    Object.assign(edge, {
      fetch: async (url: string, init?: RequestInit) =>
        url.endsWith('/v1/profiles')
          ? Response.json({ accepted: 0, duplicates: 0, capped: 0, rejected: [] })
          : real(url, init),
    });
    const { api, profiles } = await profiledWorker({}, edge);
    await api.predict(pixels(1));
    await expect(api.sync()).rejects.toMatchObject({
      code: 'EDGE_ERROR',
      message: expect.stringMatching(/does not account for the 1 profiles/),
    });
    expect((await profiles()).map((r) => r.state)).toEqual(['sealed']);
    await api.dispose();
  });
});
