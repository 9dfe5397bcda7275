import { describe, expect, it } from 'vitest';
import { detectSyncPlatform } from '../env.ts';
import { publishDigits } from '../test/digits.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import {
  accuracyWith,
  CONV_VALUES,
  DIGITS_VALUES,
  digitsWorker,
  failure,
  label,
  norm,
  tilted,
  updatePosts,
} from '../test/federated.ts';
import { startWorker } from '../test/harness.ts';

describe('participate', () => {
  it('refuses before init and before load, and checks its options', async () => {
    const { api } = await startWorker();
    expect(String(await failure(api.participate({ v: 2 } as never)))).toMatch(/INVALID_INPUT\] options\.v/);
    expect((await failure(api.participate()))?.code).toBe('MODEL_NOT_LOADED');
    await api.dispose();
    expect((await failure(api.participate()))?.code).toBe('NOT_INITIALIZED');
  });

  it('stops with CANCELLED on cancelTraining(), storing and sending nothing', async () => {
    const edge = new FakeEdge();
    let asked: () => void = () => undefined;
    const askedForRound = new Promise<void>((resolve) => (asked = resolve));
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const fetch = async (input: string, init?: RequestInit) => {
      if (input.endsWith('/rounds/current')) {
        asked();
        await answered;
      }
      return edge.fetch(input, init);
    };
    const worker = await digitsWorker({ edge, deps: { fetch } });
    await label(worker, 10);
    edge.rounds.open('digits', 1);
    const taking = failure(worker.api.participate());
    await askedForRound;
    await worker.api.cancelTraining();
    answer();
    expect((await taking)?.code).toBe('CANCELLED');
    expect(await worker.db().updates.count()).toBe(0);
    expect(updatePosts(edge)).toHaveLength(0);
    await worker.api.dispose();
  });

  it('answers no-round when none is open, and not-enough-examples below the round minimum, sending nothing', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    expect(await api.participate()).toEqual({ v: 1, status: 'no-round', model: 'digits' });
    const asked = edge.requests.find((r) => r.path === '/v1/models/digits/rounds/current');
    expect(asked?.headers.get('edgeloop-client-token')).toBe(edge.clients.get(worker.clientId ?? '')?.token);
    await label(worker, 4);
    const round = edge.rounds.open('digits', 1, { minExamples: 5 });
    expect(await api.participate()).toEqual({
      v: 1,
      status: 'not-enough-examples',
      model: 'digits',
      roundId: round.id,
      examples: 4,
      needed: 5,
    });
    expect(updatePosts(edge)).toHaveLength(0);
    expect((await api.status()).federated).toEqual({ enabled: false, lastRound: null });
    await api.dispose();
  });

  it('sends fine-tuned − base in weights.bin order (untouched conv weights exactly 0), which improves the shared model on the user’s digits; once per round', async () => {
    const worker = await digitsWorker();
    const { api, edge, clientId } = worker;
    await label(worker, 50);
    const round = edge.rounds.open('digits', 1, { clipNorm: 1000, localEpochs: 6 });
    const result = await api.participate();
    expect(result).toMatchObject({
      status: 'sent',
      roundId: round.id,
      baseVersion: 1,
      // 10 of the 50 labels are held out of the fit (held-out.test.ts).
      examples: 40,
      clipped: false,
      duplicate: false,
      bytes: DIGITS_VALUES * 4,
    });
    const update = edge.rounds.get(round.id).updates.get(clientId ?? '');
    if (!update || result.status !== 'sent') throw new Error('no update arrived');
    expect(update.examples).toBe(40);
    expect(update.values).toHaveLength(DIGITS_VALUES);
    expect(update.values.subarray(0, CONV_VALUES).every((x) => x === 0)).toBe(true);
    const dense = update.values.subarray(CONV_VALUES);
    expect(dense.filter((x) => x !== 0).length).toBeGreaterThan(dense.length / 2);
    expect(result.norm).toBeCloseTo(norm(update.values), 3);
    // The delta, added to the base's weights.bin value by value, reads this user's unseen digits better.
    const unseen = tilted(1000, 300);
    const before = await accuracyWith(edge, null, unseen.images, unseen.labels);
    const after = await accuracyWith(edge, update.values, unseen.images, unseen.labels);
    expect(after).toBeGreaterThan(before + 0.05);
    // A second call (or a second tab) sends nothing more.
    expect(await api.participate()).toEqual({
      v: 1,
      status: 'already',
      model: 'digits',
      roundId: round.id,
      state: 'sent',
    });
    expect(updatePosts(edge)).toHaveLength(1);
    await api.dispose();
  });

  it('clips the delta to clipNorm and records the norm before clipping; the body goes gzipped', async () => {
    const worker = await digitsWorker({ deps: { platform: { gzip: detectSyncPlatform().gzip } } });
    const { api, edge, clientId } = worker;
    await label(worker, 20);
    const round = edge.rounds.open('digits', 1, { clipNorm: 0.01, minExamples: 20 });
    const result = await api.participate();
    if (result.status !== 'sent') throw new Error(`not sent: ${JSON.stringify(result)}`);
    expect(result).toMatchObject({ clipped: true, clipNorm: 0.01 });
    expect(result.norm).toBeGreaterThan(0.01);
    const values = edge.rounds.get(round.id).updates.get(clientId ?? '')?.values ?? new Float32Array();
    expect(norm(values)).toBeLessThanOrEqual(0.01);
    expect(norm(values)).toBeGreaterThan(0.0099);
    const [post] = updatePosts(edge);
    expect(post?.headers.get('content-encoding')).toBe('gzip');
    expect(post?.bytes).toBeLessThan(DIGITS_VALUES * 4);
    expect((await api.status()).federated).toEqual({
      enabled: false,
      lastRound: {
        id: round.id,
        model: 'digits',
        state: 'sent',
        examples: 16,
        norm: result.norm,
        clipped: true,
        at: expect.any(Number),
        heldOut: 4,
      },
    });
    await api.dispose();
  });

  it('answers mismatch when the round describes other weights than the base’s', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    await label(worker, 10);
    const round = edge.rounds.open('digits', 1);
    round.weights.values = 10;
    expect(await api.participate()).toMatchObject({
      status: 'mismatch',
      reason: `v1's model.json lists ${DIGITS_VALUES} weight values, the round 10`,
    });
    round.weights.sha256 = '0'.repeat(64);
    expect(await api.participate()).toMatchObject({
      status: 'mismatch',
      reason: expect.stringMatching(/sha256 0{64}/),
    });
    expect(updatePosts(edge)).toHaveLength(0);
    await api.dispose();
  });

  it('trains on the round’s base when another version is loaded, downloading it verified', async () => {
    const edge = new FakeEdge();
    await publishDigits(edge);
    const v1 = edge.versions.get('digits/1');
    if (!v1) throw new Error('digits v1 not published');
    const files = [...edge.bytes.entries()]
      .filter(([key]) => key.startsWith('digits/1/'))
      .map(([key, bytes]) => ({
        path: key.slice('digits/1/'.length),
        role: v1.manifest.files.find((f) => `digits/1/${f.path}` === key)?.role ?? 'model',
        bytes,
      }));
    await edge.publish('digits', 2, files, { ...v1.manifest, lineage: { parentVersion: 1 } });
    edge.aliases.set('digits/production', 1);
    const worker = await digitsWorker({ edge });
    const { api, clientId } = worker;
    await label(worker, 10);
    const round = edge.rounds.open('digits', 2);
    expect(await api.participate()).toMatchObject({ status: 'sent', baseVersion: 2, examples: 8 });
    expect(edge.count('/v1/models/digits/versions/2')).toBeGreaterThan(0);
    const values = edge.rounds.get(round.id).updates.get(clientId ?? '')?.values;
    expect(values?.subarray(0, CONV_VALUES).every((x) => x === 0)).toBe(true);
    expect((await api.status()).model?.version).toBe(1);
    await api.dispose();
  });

  it('takes part on its own with init federated: true, after a sync', async () => {
    const worker = await digitsWorker({ init: { federated: true } });
    const { api, edge, clientId } = worker;
    await label(worker, 10);
    const round = edge.rounds.open('digits', 1);
    await api.sync();
    // Queued behind the automatic participation, which has sent its update by then.
    expect(await api.participate()).toMatchObject({ status: 'already', roundId: round.id, state: 'sent' });
    expect(edge.rounds.get(round.id).updates.has(clientId ?? '')).toBe(true);
    expect(updatePosts(edge)).toHaveLength(1);
    expect((await api.status()).federated).toMatchObject({ enabled: true, lastRound: { id: round.id, state: 'sent' } });
    await api.dispose();
  });
});
