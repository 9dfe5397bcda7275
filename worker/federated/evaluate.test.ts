import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import type { FakeEdge } from '../test/fake-edge.ts';
import {
  baseWeights,
  contribute,
  correctWith,
  digitsWorker,
  failure,
  heldOutOf,
  label,
  plus,
  roundRequests,
} from '../test/federated.ts';
import { CHECK_EVERY_MS } from './auto.ts';

const candidateGets = (edge: FakeEdge) => roundRequests(edge, 'candidate', 'GET');
const evaluationPosts = (edge: FakeEdge) => roundRequests(edge, 'evaluations');

describe('fleet held-out evaluation', () => {
  it('counts what the base and the trained candidate get right on the held-out labels, before training the next round', async () => {
    const worker = await digitsWorker();
    const { api, edge, clientId } = worker;
    await label(worker, 50);
    const { roundId, delta } = await contribute(worker, { clipNorm: 1000, localEpochs: 6 });
    await edge.rounds.gate(roundId, plus(baseWeights(edge), delta));
    const next = edge.rounds.open('digits', 1);
    const tensors = tf.memory().numTensors;
    const result = await api.participate();
    expect(tf.memory().numTensors).toBe(tensors);
    const held = await heldOutOf(worker, roundId);
    const baseCorrect = await correctWith(edge, null, held.images, held.labels);
    const candidateCorrect = await correctWith(edge, delta, held.images, held.labels);
    expect(result).toEqual({
      v: 1,
      status: 'evaluated',
      model: 'digits',
      roundId,
      examples: 10,
      baseCorrect,
      candidateCorrect,
      state: 'sent',
      duplicate: false,
    });
    // A user's strong style: the update trained on their other labels reads these ones at least as well.
    expect(candidateCorrect).toBeGreaterThanOrEqual(baseCorrect);
    expect(edge.rounds.get(roundId).evaluations.get(clientId ?? '')).toEqual({
      v: 1,
      examples: 10,
      baseCorrect,
      candidateCorrect,
    });
    const [download] = candidateGets(edge);
    expect(download?.headers.get(CLIENT_TOKEN_HEADER)).toBe(edge.clients.get(clientId ?? '')?.token);
    expect((await api.status()).federated.lastRound).toMatchObject({
      id: roundId,
      heldOut: 10,
      evaluation: { state: 'sent', examples: 10, baseCorrect, candidateCorrect },
    });
    // The next call trains for the open round; the counts are never sent again.
    expect(await api.participate()).toMatchObject({ status: 'sent', roundId: next.id });
    expect(await api.participate()).toMatchObject({ status: 'already', roundId: next.id });
    expect(evaluationPosts(edge)).toHaveLength(1);
    expect(candidateGets(edge)).toHaveLength(1);
    await api.dispose();
  });

  it('runs the base’s registry weights, not the personal fine-tune: a candidate equal to the base counts the same', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    await label(worker, 50);
    expect(await api.train({ v: 1, epochs: 2, augment: false })).toMatchObject({ applied: true });
    const { roundId } = await contribute(worker);
    await edge.rounds.gate(roundId, baseWeights(edge));
    const result = await api.participate();
    const held = await heldOutOf(worker, roundId);
    const registryCorrect = await correctWith(edge, null, held.images, held.labels);
    expect(result).toMatchObject({ status: 'evaluated', examples: 10, baseCorrect: registryCorrect });
    if (result.status !== 'evaluated') throw new Error('not evaluated');
    expect(result.candidateCorrect).toBe(result.baseCorrect);
    expect((await api.status()).model?.localFineTune).toBe(true);
    await api.dispose();
  });

  it('refuses a candidate whose sha256 is not the one announced: DIGEST_MISMATCH, nothing sent; a later call evaluates', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    await label(worker, 10);
    const { roundId } = await contribute(worker);
    await edge.rounds.gate(roundId, baseWeights(edge));
    const gating = edge.rounds.get(roundId).gating;
    if (!gating) throw new Error('not gating');
    const announced = gating.sha256;
    gating.sha256 = '0'.repeat(64);
    const refused = await failure(api.participate());
    expect(refused?.code).toBe('DIGEST_MISMATCH');
    expect(refused?.message).toMatch(/expected 0{64}; nothing was sent|with 0{64}; nothing was sent/);
    expect(evaluationPosts(edge)).toHaveLength(0);
    expect((await worker.db().updates.get(`digits/${roundId}`))?.evaluation).toBeUndefined();
    gating.sha256 = announced;
    expect(await api.participate()).toMatchObject({ status: 'evaluated', examples: 2, state: 'sent' });
    await api.dispose();
  });

  it('skips quietly a round it held nothing out of (fewer than 10 labels) and goes on', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    await label(worker, 9);
    const { roundId } = await contribute(worker, { minExamples: 5 });
    await edge.rounds.gate(roundId, baseWeights(edge));
    expect(await api.participate()).toEqual({ v: 1, status: 'no-round', model: 'digits' });
    expect(candidateGets(edge)).toHaveLength(0);
    expect(evaluationPosts(edge)).toHaveLength(0);
    await api.dispose();
  });

  it('evaluates on its own with init federated: true, after a sync', async () => {
    const worker = await digitsWorker({ init: { federated: true } });
    const { api, edge, clientId, clock } = worker;
    await label(worker, 10);
    const round = edge.rounds.open('digits', 1);
    await api.sync();
    expect(await api.participate()).toMatchObject({ status: 'already', roundId: round.id, state: 'sent' });
    await edge.rounds.gate(round.id, baseWeights(edge));
    clock.advance(CHECK_EVERY_MS);
    await api.sync();
    // Queued behind the automatic participation, which has sent the counts by then.
    expect(await api.participate()).toEqual({ v: 1, status: 'no-round', model: 'digits' });
    expect(edge.rounds.get(round.id).evaluations.get(clientId ?? '')).toMatchObject({ examples: 2 });
    expect((await api.status()).federated.lastRound?.evaluation).toMatchObject({ state: 'sent', examples: 2 });
    await api.dispose();
  });
});
