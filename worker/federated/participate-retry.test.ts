import { describe, expect, it } from 'vitest';
import { digitsWorker, label, updatePosts } from '../test/federated.ts';
import { startWorker } from '../test/harness.ts';

describe('participate: sending an update again', () => {
  it('resends the same stored bytes after a lost reply: the edge counts one update', async () => {
    const worker = await digitsWorker();
    const { api, edge, clientId } = worker;
    await label(worker, 10);
    const round = edge.rounds.open('digits', 1);
    edge.rounds.updatesFailures = ['lost-reply'];
    const result = await api.participate();
    expect(result).toMatchObject({ status: 'pending', error: { code: 'NETWORK' } });
    expect((await api.status()).sync.state).toBe('waiting');
    await api.sync();
    const [first, second] = updatePosts(edge);
    expect(updatePosts(edge)).toHaveLength(2);
    expect(second?.body).toEqual(first?.body);
    expect(edge.rounds.get(round.id).updates.size).toBe(1);
    expect(edge.rounds.get(round.id).updates.has(clientId ?? '')).toBe(true);
    expect((await api.status()).federated.lastRound).toMatchObject({ id: round.id, state: 'sent' });
    const row = await worker.db().updates.get(`digits/${round.id}`);
    expect(row).toMatchObject({ state: 'sent', duplicate: true, bytes: null });
    await api.dispose();
  });

  it('keeps a pending update across a worker restart on the same database; the next sync sends it', async () => {
    const first = await digitsWorker();
    const { edge, storage, clientId } = first;
    await label(first, 10);
    const round = edge.rounds.open('digits', 1);
    edge.rounds.updatesFailures = ['network'];
    expect(await first.api.participate()).toMatchObject({ status: 'pending', error: { code: 'NETWORK' } });
    const sent = updatePosts(edge)[0]?.body;
    await first.api.dispose();
    expect(edge.rounds.get(round.id).updates.size).toBe(0);

    const second = await startWorker({ edge, storage, backend: 'cpu' });
    expect(second.clientId).toBe(clientId);
    expect((await second.api.status()).federated.lastRound).toMatchObject({ id: round.id, state: 'pending' });
    await second.api.sync();
    expect(edge.rounds.get(round.id).updates.get(clientId ?? '')?.bytes).toEqual(sent);
    expect((await second.api.status()).federated.lastRound).toMatchObject({ id: round.id, state: 'sent' });
    await second.api.dispose();
  });

  it('retries an update after a 429, and marks one the edge refuses (ROUND_CLOSED) rejected, never sent again', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    await label(worker, 10);
    const round = edge.rounds.open('digits', 1);
    edge.rounds.updatesFailures = [{ status: 429, code: 'RATE_LIMITED' }];
    expect(await api.participate()).toMatchObject({ status: 'pending', error: { code: 'RATE_LIMITED' } });
    expect((await api.status()).sync.state).toBe('waiting');
    edge.rounds.close(round.id);
    await api.sync();
    expect((await api.status()).federated.lastRound).toMatchObject({
      id: round.id,
      state: 'rejected',
      rejection: { code: 'ROUND_CLOSED' },
    });
    expect((await api.sync()).pending).toBe(0);
    expect(updatePosts(edge)).toHaveLength(2);
    await api.dispose();
  });
});
