import { describe, expect, it } from 'vitest';
import type { ClientIdentity } from '../../protocol/clients.ts';
import { CLIENT_TOKEN_HEADER } from '../../protocol/clients.ts';
import type { CurrentRound, Round } from '../../protocol/rounds.ts';
import { api, CLIENT_KEY, expectError, registerClient, sendAsClient } from './helpers.ts';
import {
  askCurrent,
  delta,
  HELPFUL,
  openRound,
  publishRoundModel,
  readRound,
  runRoundAlarm,
  sendUpdate,
  settledRound,
} from './round-helpers.ts';

const body = (d: Float32Array) => new Uint8Array(d.buffer.slice(0));

/** A round with fleet evaluation, filled by three contributors (the first `heldOutBy` held labels out); waits until it is gating. */
async function gatingRound(
  name: string,
  evaluationSeconds = 60,
  heldOutBy = 3,
): Promise<{ round: Round; contributors: ClientIdentity[] }> {
  await publishRoundModel(name);
  const round = await openRound(name, { maxClients: 3, evaluationSeconds });
  const contributors: ClientIdentity[] = [];
  for (let i = 0; i < 3; i++) {
    const identity = await registerClient();
    const headers = { 'Edgeloop-Examples': '20', 'Edgeloop-Held-Out': i < heldOutBy ? '5' : '0' };
    expect((await sendUpdate(name, round.id, identity, body(delta({ [HELPFUL]: 1 })), headers)).status).toBe(200);
    contributors.push(identity);
  }
  await runRoundAlarm(name);
  for (let i = 0; i < 200 && (await readRound(name, round.id)).status !== 'gating'; i++)
    await new Promise((r) => setTimeout(r, 50));
  expect((await readRound(name, round.id)).status).toBe('gating');
  return { round, contributors };
}

const evaluate = (name: string, id: string, identity: ClientIdentity, counts: Record<string, unknown>) =>
  sendAsClient('POST', `/v1/models/${name}/rounds/${id}/evaluations`, { v: 1, ...counts }, identity.token);

const candidate = (name: string, id: string, identity: ClientIdentity | null) =>
  api(`/v1/models/${name}/rounds/${id}/candidate`, {
    key: CLIENT_KEY,
    headers: identity ? { [CLIENT_TOKEN_HEADER]: identity.token } : {},
  });

describe('rounds: the fleet evaluates the candidate on the labels it held out', () => {
  it('asks contributors only, serves them the candidate and gates on their pooled counts', async () => {
    const { round, contributors } = await gatingRound('re-pool');
    const [a, b, c] = contributors as [ClientIdentity, ClientIdentity, ClientIdentity];
    const stranger = await registerClient();
    const asked = (await (await askCurrent('re-pool', a)).json()) as CurrentRound;
    expect(asked.evaluate).toMatchObject({ id: round.id, baseVersion: round.baseVersion, candidate: { values: 8 } });
    expect(((await (await askCurrent('re-pool', stranger)).json()) as CurrentRound).evaluate).toBeNull();

    const bytes = await candidate('re-pool', round.id, a);
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get('etag')).toBe(`"${asked.evaluate?.candidate.sha256}"`);
    expect(Array.from(new Float32Array(await bytes.arrayBuffer()))).toEqual([1, 0, 0, 1, 0, 1, 0, 0]);
    await expectError(await candidate('re-pool', round.id, stranger), 403, 'FORBIDDEN');
    await expectError(await candidate('re-pool', round.id, null), 401, 'INVALID_CLIENT_TOKEN');

    await expectError(
      await evaluate('re-pool', round.id, stranger, { examples: 10, baseCorrect: 5, candidateCorrect: 9 }),
      403,
      'FORBIDDEN',
    );
    await expectError(
      await evaluate('re-pool', round.id, a, { examples: 10, baseCorrect: 11, candidateCorrect: 9 }),
      400,
      'INVALID_BODY',
    );
    await expectError(
      await evaluate('re-pool', round.id, a, { examples: 0, baseCorrect: 0, candidateCorrect: 0 }),
      400,
      'INVALID_BODY',
    );
    const first = await evaluate('re-pool', round.id, a, { examples: 10, baseCorrect: 5, candidateCorrect: 9 });
    expect(await first.json()).toEqual({ v: 1, roundId: round.id, clientId: a.clientId, duplicate: false });
    const again = await evaluate('re-pool', round.id, a, { examples: 10, baseCorrect: 5, candidateCorrect: 9 });
    expect(((await again.json()) as { duplicate: boolean }).duplicate).toBe(true);
    await expectError(
      await evaluate('re-pool', round.id, a, { examples: 10, baseCorrect: 5, candidateCorrect: 8 }),
      409,
      'DUPLICATE_UPDATE',
    );
    expect(((await (await askCurrent('re-pool', a)).json()) as CurrentRound).evaluate).toBeNull();
    expect((await readRound('re-pool', round.id)).status).toBe('gating');

    await evaluate('re-pool', round.id, b, { examples: 20, baseCorrect: 10, candidateCorrect: 18 });
    // The last contributor's counts decide the round at once.
    await evaluate('re-pool', round.id, c, { examples: 10, baseCorrect: 5, candidateCorrect: 9 });
    const done = await settledRound('re-pool', round.id);
    expect(done.status).toBe('done');
    expect(done.gate?.metrics.find((m) => m.set === 'fleet')).toEqual({
      set: 'fleet',
      examples: 40,
      baseline: 0.5,
      candidate: 0.9,
    });
    expect(done.gate?.blessed).toBe(true);
    expect(done.gate?.reasons.some((r) => /^pass: fleet accuracy 90\.00% on 40 vs baseline 50\.00%/.test(r))).toBe(
      true,
    );
    const info = (await (
      await api(`/v1/models/re-pool/versions/${done.candidateVersion}`, { key: 'test-admin-key' })
    ).json()) as {
      manifest: { metrics: Record<string, number> };
    };
    expect(info.manifest.metrics.fleet_accuracy).toBe(0.9);
    await expectError(await candidate('re-pool', round.id, a), 409, 'ROUND_CLOSED');
  });

  it('rejects a candidate the fleet finds worse, though the holdout likes it', async () => {
    const { round, contributors } = await gatingRound('re-worse');
    for (const identity of contributors)
      await evaluate('re-worse', round.id, identity, { examples: 20, baseCorrect: 18, candidateCorrect: 12 });
    const done = await settledRound('re-worse', round.id);
    expect(done.gate?.blessed).toBe(false);
    expect(done.gate?.reasons).toContainEqual(
      expect.stringMatching(/^fail: fleet accuracy 60\.00% on 60 vs baseline 90\.00%/),
    );
    expect(done.gate?.reasons).toContainEqual(expect.stringMatching(/^pass: holdout accuracy/));
  });

  it('asks only contributors that held labels out, and decides once they have all reported', async () => {
    const { round, contributors } = await gatingRound('re-some', 60, 2);
    const [a, b, c] = contributors as [ClientIdentity, ClientIdentity, ClientIdentity];
    expect(((await (await askCurrent('re-some', c)).json()) as CurrentRound).evaluate).toBeNull();
    await evaluate('re-some', round.id, a, { examples: 5, baseCorrect: 3, candidateCorrect: 5 });
    expect((await readRound('re-some', round.id)).status).toBe('gating');
    await evaluate('re-some', round.id, b, { examples: 5, baseCorrect: 3, candidateCorrect: 4 });
    const done = await settledRound('re-some', round.id);
    expect(done.gate?.metrics.find((m) => m.set === 'fleet')).toMatchObject({
      examples: 10,
      baseline: 0.6,
      candidate: 0.9,
    });
  });

  it('refuses a bad held-out count', async () => {
    await publishRoundModel('re-bad');
    const round = await openRound('re-bad');
    for (const heldOut of ['-1', '2.5', 'some']) {
      const res = await sendUpdate('re-bad', round.id, await registerClient(), body(delta({})), {
        'Edgeloop-Examples': '5',
        'Edgeloop-Held-Out': heldOut,
      });
      await expectError(res, 422, 'INVALID_UPDATE');
    }
  });

  it('fails the fleet check when no contributor reports in time, and then takes no counts', async () => {
    const { round, contributors } = await gatingRound('re-late', 1);
    await new Promise((r) => setTimeout(r, 1100));
    const done = await settledRound('re-late', round.id);
    expect(done.gate?.blessed).toBe(false);
    expect(done.gate?.reasons).toContainEqual('fail: no contributor reported a held-out evaluation within 1 s');
    expect(done.candidateVersion).not.toBeNull();
    await expectError(
      await evaluate('re-late', round.id, contributors[0] as ClientIdentity, {
        examples: 5,
        baseCorrect: 1,
        candidateCorrect: 2,
      }),
      409,
      'ROUND_CLOSED',
    );
  });
});
