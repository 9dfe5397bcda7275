import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, api, expectError, registerClient } from './helpers.ts';
import {
  delta,
  HELPFUL,
  openRound,
  publishRoundModel,
  readRound,
  sendUpdate,
  settledRound,
  VALUES,
} from './round-helpers.ts';

const body = (d: Float32Array) => new Uint8Array(d.buffer.slice(0));

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer(),
  );
}

describe('round updates: one per client, bad ones refused with a code and the round unharmed', () => {
  it('takes an update once: the same bytes again are a duplicate, other bytes are refused', async () => {
    await publishRoundModel('ru-once');
    const round = await openRound('ru-once');
    const identity = await registerClient();
    const first = await sendUpdate('ru-once', round.id, identity, await gzip(body(delta({ 1: 0.5 }))), {
      'Edgeloop-Examples': '12',
      'Content-Encoding': 'gzip',
    });
    expect(await first.json()).toEqual({
      v: 1,
      roundId: round.id,
      clientId: identity.clientId,
      examples: 12,
      duplicate: false,
    });
    const again = await sendUpdate('ru-once', round.id, identity, body(delta({ 1: 0.5 })), {
      'Edgeloop-Examples': '12',
    });
    expect(((await again.json()) as { duplicate: boolean }).duplicate).toBe(true);
    await expectError(
      await sendUpdate('ru-once', round.id, identity, body(delta({ 1: 0.6 }))),
      409,
      'DUPLICATE_UPDATE',
    );
    expect(await readRound('ru-once', round.id)).toMatchObject({ contributors: 1, examples: 12 });
  });

  it('refuses updates of the wrong length, with NaN or Infinity, over size, or without examples', async () => {
    await publishRoundModel('ru-bad');
    const round = await openRound('ru-bad');
    const identity = await registerClient();
    const send = (b: Uint8Array, headers?: Record<string, string>) =>
      sendUpdate('ru-bad', round.id, identity, b, headers);
    await expectError(await send(new Uint8Array(new Float32Array(VALUES - 1).buffer)), 422, 'INVALID_UPDATE');
    await expectError(await send(new Uint8Array(7)), 422, 'INVALID_UPDATE');
    await expectError(await send(body(delta({ 2: Number.NaN }))), 422, 'INVALID_UPDATE');
    await expectError(await send(body(delta({ 2: Number.POSITIVE_INFINITY }))), 422, 'INVALID_UPDATE');
    await expectError(await send(new Uint8Array(new Float32Array(VALUES * 100).buffer)), 413, 'PAYLOAD_TOO_LARGE');
    for (const examples of [undefined, '0', '-3', '2.5', 'many']) {
      const headers: Record<string, string> = examples === undefined ? {} : { 'Edgeloop-Examples': examples };
      await expectError(await send(body(delta({})), headers), 422, 'INVALID_UPDATE');
    }
    expect(await readRound('ru-bad', round.id)).toMatchObject({ status: 'open', contributors: 0, examples: 0 });
    // The same client may still send a good one.
    expect((await send(body(delta({ [HELPFUL]: 1 })))).status).toBe(200);
  });

  it('refuses unknown and closed rounds, missing or foreign tokens and revoked clients', async () => {
    await publishRoundModel('ru-who');
    const round = await openRound('ru-who', { minClients: 1, maxClients: 1 });
    const identity = await registerClient();
    const update = body(delta({ [HELPFUL]: 1 }));
    await expectError(await sendUpdate('ru-who', 'r_0123456789abcdef', identity, update), 404, 'ROUND_NOT_FOUND');
    await expectError(await sendUpdate('ru-who', round.id, null, update), 401, 'INVALID_CLIENT_TOKEN');
    await expectError(
      await sendUpdate('ru-who', round.id, { ...identity, token: `${identity.token}x` }, update),
      401,
      'INVALID_CLIENT_TOKEN',
    );
    const revoked = await registerClient();
    const res = await api(`/v1/clients/${revoked.clientId}/revoke`, { method: 'POST', key: ADMIN_KEY });
    expect(res.status).toBe(200);
    await expectError(await sendUpdate('ru-who', round.id, revoked, update), 403, 'CLIENT_REVOKED');
    expect((await sendUpdate('ru-who', round.id, identity, update)).status).toBe(200);
    // Full (maxClients 1): the round closes, later updates are refused; its own retry stays a duplicate.
    await expectError(await sendUpdate('ru-who', round.id, await registerClient(), update), 409, 'ROUND_CLOSED');
    const done = await settledRound('ru-who', round.id);
    expect(done.contributors).toBe(1);
    await expectError(await sendUpdate('ru-who', round.id, await registerClient(), update), 409, 'ROUND_CLOSED');
  });

  it('bounds one adversarial client by its clipped share (robust aggregators bound it further)', async () => {
    for (const aggregator of ['fedavg', 'median'] as const) {
      const name = `ru-poison-${aggregator}`;
      await publishRoundModel(name);
      const round = await openRound(name, { maxClients: 4, aggregator });
      for (let i = 0; i < 3; i++)
        await sendUpdate(name, round.id, await registerClient(), body(delta({ [HELPFUL]: 0.5 })));
      await sendUpdate(name, round.id, await registerClient(), body(delta({ [HELPFUL]: -1e6, 0: 1e6 })));
      const done = await settledRound(name, round.id);
      const file = await api(`/v1/models/${name}/versions/${done.candidateVersion}/files/weights.bin`, {
        key: ADMIN_KEY,
      });
      const w = new Float32Array(await file.arrayBuffer());
      // FedAvg of four equal weights: the attacker's clipped update (norm 1) moves the mean by at
      // most 1/4 from where an attacker sending nothing would leave it (K[0][0] 1, K[2][1] 0.375).
      const moved = Math.hypot((w[0] as number) - 1, (w[HELPFUL] as number) - 0.375);
      if (aggregator === 'fedavg') expect(moved).toBeLessThanOrEqual(0.25 + 1e-6);
      else expect(w[HELPFUL]).toBeCloseTo(0.5, 5);
      expect(done.clipped).toBe(1);
    }
  });
});
