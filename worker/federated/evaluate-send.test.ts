import { describe, expect, it } from 'vitest';
import type { FakeEdge } from '../test/fake-edge.ts';
import { baseWeights, contribute, digitsWorker, label, roundRequests } from '../test/federated.ts';

const evaluationPosts = (edge: FakeEdge) => roundRequests(edge, 'evaluations');

describe('fleet held-out evaluation: sending the counts', () => {
  it('sends the same stored counts again after a lost reply (the edge counts one), without counting again', async () => {
    const worker = await digitsWorker();
    const { api, edge, clientId } = worker;
    await label(worker, 10);
    const { roundId } = await contribute(worker);
    await edge.rounds.gate(roundId, baseWeights(edge));
    edge.rounds.evaluationsFailures = ['lost-reply'];
    const first = await api.participate();
    expect(first).toMatchObject({ status: 'evaluated', state: 'pending', examples: 2, error: { code: 'NETWORK' } });
    expect((await api.status()).federated.lastRound?.evaluation).toMatchObject({ state: 'pending' });
    // The edge has the counts, so it asks no more; the device sends them again all the same.
    const second = await api.participate();
    expect(second).toEqual({ ...first, state: 'sent', duplicate: true, error: undefined });
    const [sent, again] = evaluationPosts(edge);
    expect(evaluationPosts(edge)).toHaveLength(2);
    expect(again?.body).toEqual(sent?.body);
    expect(edge.rounds.get(roundId).evaluations.size).toBe(1);
    expect(edge.rounds.get(roundId).evaluations.has(clientId ?? '')).toBe(true);
    expect(roundRequests(edge, 'candidate', 'GET')).toHaveLength(1);
    expect(await api.participate()).toEqual({ v: 1, status: 'no-round', model: 'digits' });
    expect(evaluationPosts(edge)).toHaveLength(2);
    await api.dispose();
  });

  it('leaves the counts pending when the edge cannot be reached or asks to wait; the next participation sends them', async () => {
    const worker = await digitsWorker();
    const { api, edge, clientId } = worker;
    await label(worker, 10);
    const { roundId } = await contribute(worker);
    await edge.rounds.gate(roundId, baseWeights(edge));
    edge.rounds.evaluationsFailures = ['network', { status: 429, code: 'RATE_LIMITED' }];
    expect(await api.participate()).toMatchObject({ state: 'pending', error: { code: 'NETWORK' } });
    expect(await api.participate()).toMatchObject({ state: 'pending', error: { code: 'RATE_LIMITED' } });
    expect(await api.participate()).toMatchObject({ status: 'evaluated', state: 'sent', duplicate: false });
    expect(edge.rounds.get(roundId).evaluations.has(clientId ?? '')).toBe(true);
    await api.dispose();
  });

  it('marks counts the edge refuses (ROUND_CLOSED, FORBIDDEN) rejected, never sent again', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    await label(worker, 10);
    const first = await contribute(worker);
    await edge.rounds.gate(first.roundId, baseWeights(edge));
    edge.rounds.evaluationsFailures = [{ status: 409, code: 'ROUND_CLOSED' }];
    expect(await api.participate()).toMatchObject({
      status: 'evaluated',
      roundId: first.roundId,
      state: 'rejected',
      rejection: { code: 'ROUND_CLOSED' },
    });
    // The fake edge still asks (it recorded nothing); the device does not send again.
    expect(await api.participate()).toEqual({ v: 1, status: 'no-round', model: 'digits' });
    expect(evaluationPosts(edge)).toHaveLength(1);
    expect((await api.status()).federated.lastRound?.evaluation).toMatchObject({
      state: 'rejected',
      rejection: { code: 'ROUND_CLOSED' },
    });

    const second = await contribute(worker);
    await edge.rounds.gate(second.roundId, baseWeights(edge));
    edge.rounds.evaluationsFailures = [{ status: 403, code: 'FORBIDDEN' }];
    expect(await api.participate()).toMatchObject({
      roundId: second.roundId,
      state: 'rejected',
      rejection: { code: 'FORBIDDEN', message: expect.stringMatching(/HTTP 403 FORBIDDEN/) },
    });
    expect(await api.participate()).toEqual({ v: 1, status: 'no-round', model: 'digits' });
    expect(evaluationPosts(edge)).toHaveLength(2);
    await api.dispose();
  });

  it('a round that stopped gating before the counts went: ROUND_CLOSED from the edge itself', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    await label(worker, 10);
    const { roundId } = await contribute(worker);
    await edge.rounds.gate(roundId, baseWeights(edge));
    edge.rounds.evaluationsFailures = ['network'];
    expect(await api.participate()).toMatchObject({ state: 'pending' });
    edge.rounds.close(roundId);
    expect(await api.participate()).toMatchObject({ state: 'rejected', rejection: { code: 'ROUND_CLOSED' } });
    expect(await api.participate()).toEqual({ v: 1, status: 'no-round', model: 'digits' });
    await api.dispose();
  });
});
