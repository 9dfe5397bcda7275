import { afterEach, describe, expect, it, vi } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { WINDOW_MS } from '../../protocol/profile/index.ts';
import { pixels } from '../test/harness.ts';
import { profiledWorker } from '../test/profiled.ts';
import { hourOf } from './record.ts';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );

afterEach(() => {
  vi.restoreAllMocks();
});

describe('profiles of predictions', () => {
  it('creates the hour’s open profile and extends it with each prediction and its class', async () => {
    const { api, profiles } = await profiledWorker();
    const labels: number[] = [];
    for (let i = 0; i < 5; i++) labels.push((await api.predict(pixels(i))).label);

    const [only, ...others] = await profiles();
    expect(others).toHaveLength(0);
    expect(only).toMatchObject({ model: 'digits', version: 1, state: 'open', rows: 5, window: hourOf(Date.now()) });
    expect(only?.id).toMatch(/^p_[0-9a-f-]{36}$/);
    expect((only?.window ?? 1) % WINDOW_MS).toBe(0);
    expect(only?.profile.count).toBe(5);
    const expected = Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);
    expect(only?.profile.outputs).toEqual({ kind: 'classes', counts: expected });
    await api.dispose();
  });

  it('profiles the features computed from the input and those the app supplies', async () => {
    const { api, profiles, db } = await profiledWorker();
    const a = await api.predict(pixels(1), { features: { device: 'pen', pressure: 0.25 } });
    await api.predict(pixels(2), { features: { device: 'pen', pressure: null } });
    await api.predict(pixels(3));

    const features = (await profiles())[0]?.profile.features ?? {};
    expect(Object.keys(features).sort()).toEqual(
      ['centroid_x', 'centroid_y', 'device', 'ink', 'mean_intensity', 'pressure'].sort(),
    );
    for (const name of ['ink', 'mean_intensity', 'centroid_x', 'centroid_y']) {
      expect(features[name], name).toMatchObject({ kind: 'numeric', count: 3, missing: 0 });
    }
    const mean = pixels(1).reduce((s, x) => s + x, 0) / 784;
    expect(features.mean_intensity).toMatchObject({ kind: 'numeric' });
    const meanProfile = features.mean_intensity;
    if (meanProfile?.kind === 'numeric') expect(meanProfile.min).toBeLessThanOrEqual(mean + 1e-6);
    expect(features.device).toMatchObject({ kind: 'categorical', count: 3, missing: 1, values: { pen: 2 } });
    expect(features.pressure).toMatchObject({ kind: 'numeric', count: 3, missing: 2, min: 0.25, max: 0.25 });

    // The raw row stays on the device; by default the event does not carry it.
    const conn = db();
    expect((await conn.predictions.get(a.predictionId))?.features).toEqual({ device: 'pen', pressure: 0.25 });
    const events = (await conn.outbox.toArray()).map((r) => r.event);
    expect(events.every((e) => !('features' in e))).toBe(true);
    conn.close();
    await api.dispose();
  });

  it('adds the app features to the prediction event only with shareFeatures', async () => {
    const { api, db } = await profiledWorker({ shareFeatures: true });
    const a = await api.predict(pixels(1), { features: { device: 'mouse' } });
    const b = await api.predict(pixels(2));
    const conn = db();
    const events = (await conn.outbox.toArray()).map((r) => r.event);
    expect(events.find((e) => e.id === a.predictionId)).toMatchObject({ features: { device: 'mouse' } });
    expect(events.find((e) => e.id === b.predictionId)).not.toHaveProperty('features');
    conn.close();
    await api.dispose();
  });

  it('starts a new profile for a prediction in a new hour', async () => {
    const { api, profiles } = await profiledWorker();
    const hour = Date.UTC(2026, 10, 29, 10);
    const now = vi.spyOn(Date, 'now').mockReturnValue(hour + WINDOW_MS - 1);
    await api.predict(pixels(1));
    await api.predict(pixels(2));
    now.mockReturnValue(hour + WINDOW_MS);
    await api.predict(pixels(3));

    const rows = await profiles();
    expect(rows.map((r) => [r.window, r.rows, r.state])).toEqual([
      [hour, 2, 'open'],
      [hour + WINDOW_MS, 1, 'open'],
    ]);
    await api.dispose();
  });

  it('refuses invalid app features with INVALID_INPUT and stores nothing', async () => {
    const { api, db, profiles } = await profiledWorker();
    const bad: unknown[] = [
      { features: { colour: 'red' } },
      { features: { ink: 0.5 } },
      { features: { pressure: Number.NaN } },
      { features: { pressure: Number.POSITIVE_INFINITY } },
      { features: { pressure: 'high' } },
      { features: { device: 'x'.repeat(257) } },
      { features: { device: { nested: true } } },
      { features: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`f${i}`, 1])) },
      { feature: { device: 'pen' } },
      'pen',
    ];
    for (const options of bad) {
      const error = await failure(api.predict(pixels(1), options as never));
      expect(error?.code, JSON.stringify(options).slice(0, 80)).toBe('INVALID_INPUT');
      expect(error?.message).toContain('options');
    }
    const conn = db();
    expect(await conn.predictions.count()).toBe(0);
    expect(await conn.outbox.count()).toBe(0);
    conn.close();
    expect(await profiles()).toHaveLength(0);
    await api.dispose();
  });

  it('keeps the profile and prediction together when the transaction fails', async () => {
    const { api, db, profiles } = await profiledWorker();
    await api.predict(pixels(1));
    const conn = db();
    // A corrupt counter fails the event after the profile was merged in the same transaction.
    await conn.meta.put({ key: 'nextSeq', value: -5 });
    expect((await failure(api.predict(pixels(2))))?.code).toBe('INTERNAL');
    expect((await profiles())[0]?.rows).toBe(1);
    await conn.meta.put({ key: 'nextSeq', value: 2 });
    conn.close();
    // The worker's cached profile (merged in the aborted transaction) must not be reused.
    await api.predict(pixels(3));
    expect((await profiles())[0]?.rows).toBe(2);
    await api.dispose();
  });
});

describe('profiles of feedback', () => {
  it('counts the first label of a prediction into confusion and calibration, once', async () => {
    const { api, profiles } = await profiledWorker();
    const a = await api.predict(pixels(1));
    const b = await api.predict(pixels(2));
    const wrong = (a.label + 1) % 10;
    await api.feedback(a.predictionId, a.label);
    await api.feedback(b.predictionId, wrong === b.label ? (wrong + 1) % 10 : wrong);
    const bActual = wrong === b.label ? (wrong + 1) % 10 : wrong;
    // A correction is a new event but not counted again.
    await api.feedback(a.predictionId, wrong);

    const [only] = await profiles();
    const feedback = only?.profile.feedback;
    expect(only?.rows).toBe(2);
    expect(feedback?.classes).toBe(10);
    expect(feedback?.confusion.reduce((s, n) => s + n, 0)).toBe(2);
    expect(feedback?.confusion[a.label * 10 + a.label]).toBe(1);
    expect(feedback?.confusion[bActual * 10 + b.label]).toBe(1);
    expect(feedback?.calibration.count.reduce((s, n) => s + n, 0)).toBe(2);
    expect(feedback?.calibration.correct.reduce((s, n) => s + n, 0)).toBe(1);
    const confidence = (a.outputs[a.label] ?? 0) + (b.outputs[b.label] ?? 0);
    expect(feedback?.calibration.confidence.reduce((s, n) => s + n, 0)).toBeCloseTo(confidence, 5);
    await api.dispose();
  });

  it('counts feedback into the current hour, opening a profile there with the version’s features', async () => {
    const { api, profiles } = await profiledWorker();
    const hour = Date.UTC(2026, 10, 29, 10);
    const now = vi.spyOn(Date, 'now').mockReturnValue(hour);
    const a = await api.predict(pixels(1));
    now.mockReturnValue(hour + WINDOW_MS);
    await api.feedback(a.predictionId, a.label);

    const rows = await profiles();
    expect(rows.map((r) => [r.window, r.rows])).toEqual([
      [hour, 1],
      [hour + WINDOW_MS, 0],
    ]);
    expect(rows[0]?.profile.feedback).toBeUndefined();
    expect(rows[1]?.profile.feedback?.confusion[a.label * 10 + a.label]).toBe(1);
    expect(Object.keys(rows[1]?.profile.features ?? {})).toHaveLength(6);
    await api.dispose();
  });
});
