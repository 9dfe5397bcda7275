import { describe, expect, it } from 'vitest';
import { EXAMPLES_HEADER, HELD_OUT_HEADER } from '../../protocol/rounds.ts';
import { digitsWorker, label, updatePosts } from '../test/federated.ts';
import type { UserExamples } from '../train/examples.ts';
import { holdOut } from './held-out.ts';

/** `n` examples of 2 values each: example i is [i, -i] with label i % 10, weight 1 or 0.5, id `p<i>`. */
function examples(n: number): UserExamples {
  return {
    count: n,
    size: 2,
    inputs: Float32Array.from({ length: n * 2 }, (_, k) => (k % 2 === 0 ? k / 2 : -(k - 1) / 2)),
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
    weights: Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0.5 : 1)),
    ids: Array.from({ length: n }, (_, i) => `p${i}`),
  };
}

describe('held-out split of a round', () => {
  it('holds out a fifth (rounded down, at least 2) from 10 examples on, none below', () => {
    expect(holdOut(examples(9), 'round_1')).toEqual({ train: examples(9), heldOut: [] });
    expect(holdOut(examples(10), 'round_1').heldOut).toHaveLength(2);
    expect(holdOut(examples(14), 'round_1').heldOut).toHaveLength(2);
    expect(holdOut(examples(15), 'round_1').heldOut).toHaveLength(3);
    const { train, heldOut } = holdOut(examples(50), 'round_1');
    expect(heldOut).toHaveLength(10);
    expect(train.count).toBe(40);
    // The rest keep their order, each with its own input, label and weight.
    const kept = train.ids.map((id) => Number(id.slice(1)));
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(new Set([...train.ids, ...heldOut]).size).toBe(50);
    kept.forEach((i, k) => {
      expect([train.inputs[2 * k], train.inputs[2 * k + 1]]).toEqual([i, -i]);
      expect(train.labels[k]).toBe(i % 10);
      expect(train.weights[k]).toBe(i % 3 === 0 ? 0.5 : 1);
    });
  });

  it('holds out the same examples for the same round and labels, others for another round', () => {
    expect(holdOut(examples(50), 'round_1')).toEqual(holdOut(examples(50), 'round_1'));
    expect(holdOut(examples(50), 'round_2').heldOut).not.toEqual(holdOut(examples(50), 'round_1').heldOut);
  });

  it('trains on the rest and sends their count; stores the held-out prediction ids with the update', async () => {
    const worker = await digitsWorker();
    const { api, edge, clientId } = worker;
    await label(worker, 50);
    const round = edge.rounds.open('digits', 1, { minExamples: 50 });
    expect(await api.participate()).toMatchObject({ status: 'sent', examples: 40 });
    expect(updatePosts(edge)[0]?.headers.get(EXAMPLES_HEADER)).toBe('40');
    expect(updatePosts(edge)[0]?.headers.get(HELD_OUT_HEADER)).toBe('10');
    expect(edge.rounds.get(round.id).updates.get(clientId ?? '')?.examples).toBe(40);
    const row = await worker.db().updates.get(`digits/${round.id}`);
    expect(row?.examples).toBe(40);
    expect(row?.heldOut).toHaveLength(10);
    const labelled = new Set((await worker.db().feedback.toArray()).map((f) => f.predictionId));
    expect(row?.heldOut?.every((id) => labelled.has(id))).toBe(true);
    expect((await api.status()).federated.lastRound).toMatchObject({ examples: 40, heldOut: 10 });
    await api.dispose();
  });

  it('holds none out below 10 examples: all of them train and count', async () => {
    const worker = await digitsWorker();
    const { api, edge } = worker;
    await label(worker, 9);
    const round = edge.rounds.open('digits', 1, { minExamples: 5 });
    expect(await api.participate()).toMatchObject({ status: 'sent', examples: 9 });
    expect(updatePosts(edge)[0]?.headers.get(EXAMPLES_HEADER)).toBe('9');
    expect(updatePosts(edge)[0]?.headers.get(HELD_OUT_HEADER)).toBe('0');
    expect((await worker.db().updates.get(`digits/${round.id}`))?.heldOut).toEqual([]);
    expect((await api.status()).federated.lastRound).not.toHaveProperty('heldOut');
    await api.dispose();
  });
});
