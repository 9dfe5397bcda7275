import { describe, expect, it } from 'vitest';
import type { Round } from '../../protocol/rounds.ts';
import { encodeExamples } from '../../protocol/tensors/examples.ts';
import { registerClient } from './helpers.ts';
import {
  askCurrent,
  delta,
  HELPFUL,
  type HoldoutLayout,
  openRound,
  publishRoundModel,
  sendUpdate,
  settledRound,
} from './round-helpers.ts';

// The gate reads the base's holdout file through the shared examples container: safetensors,
// and the legacy records of a label byte and one byte per input value that versions published
// before it still ship.

/** Runs a round of `name` to its end with three devices sending the helpful update. */
async function helpfulRound(name: string): Promise<Round> {
  const round = await openRound(name, { maxClients: 3 });
  for (let i = 0; i < 3; i++) {
    const identity = await registerClient();
    expect((await askCurrent(name, identity)).status).toBe(200);
    const update = delta({ [HELPFUL]: 1 });
    expect((await sendUpdate(name, round.id, identity, new Uint8Array(update.buffer))).status).toBe(200);
  }
  return settledRound(name, round.id);
}

describe('rounds: the holdout file', () => {
  it('judges a candidate the same on a safetensors holdout as on the same examples as legacy records', async () => {
    const metrics: Record<HoldoutLayout, unknown> = { safetensors: null, legacy: null };
    for (const layout of ['safetensors', 'legacy'] as const) {
      await publishRoundModel(`rh-${layout}`, layout);
      const done = await helpfulRound(`rh-${layout}`);
      expect(done.gate?.blessed, done.gate?.reasons.join('\n')).toBe(true);
      metrics[layout] = done.gate?.metrics;
    }
    expect(metrics.safetensors).toMatchObject([{ set: 'holdout', examples: 300 }]);
    const [holdout] = metrics.safetensors as { baseline: number; candidate: number }[];
    expect(holdout?.candidate).toBeGreaterThan((holdout?.baseline ?? 1) + 0.1);
    expect(metrics.legacy).toEqual(metrics.safetensors);
  });

  it('rejects the candidate, saying why, when a holdout label is not a class of the model', async () => {
    const labels = new Int32Array(300);
    labels[7] = 5;
    const bad = encodeExamples({ shape: [3], inputs: new Uint8Array(900), scale: 1 / 255, labels });
    await publishRoundModel('rh-bad', 'safetensors', bad);
    const done = await helpfulRound('rh-bad');
    expect(done.gate?.blessed).toBe(false);
    expect(done.gate?.reasons).toContain('fail: holdout.safetensors: example 7 has label 5, not a class in [0, 2)');
  });
});
