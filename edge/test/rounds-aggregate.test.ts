import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../protocol/random.ts';
import { type Aggregator, aggregate, type ClientUpdate, clipUpdate, updateProblem } from '../src/rounds/aggregate.ts';

// One poisoning client moves the aggregate by at most its clipped share, whatever it sends;
// updates that cannot be aggregated are named, not averaged.

const LENGTH = 64;
const CLIP = 1;

/** Honest clients: small deltas around a common direction. */
function honest(n: number, seed: number): ClientUpdate[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, k) => ({
    clientId: `c_${k}`,
    delta: Float32Array.from({ length: LENGTH }, (_, j) => 0.05 * Math.sin(j) + 0.01 * (random() - 0.5)),
    examples: 20 + k,
  }));
}

const l2 = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0));
const settings = (aggregator: Aggregator) => ({ clipNorm: CLIP, noiseMultiplier: 0, aggregator, exampleCap: 50 });

describe('round aggregation', () => {
  it('names updates it cannot aggregate: wrong length, NaN, Infinity', () => {
    expect(updateProblem(new Float32Array(LENGTH), LENGTH)).toBeNull();
    expect(updateProblem(new Float32Array(LENGTH - 1), LENGTH)).toContain('63 values');
    expect(updateProblem(Float32Array.of(0, Number.NaN), 2)).toBe('value 1 is NaN');
    expect(updateProblem(Float32Array.of(Number.POSITIVE_INFINITY), 1)).toBe('value 0 is Infinity');
  });

  it('clips the whole update to clipNorm, leaving smaller ones as they are', () => {
    const { clipped, norm } = clipUpdate(Float32Array.of(3, 4), 1);
    expect(norm).toBe(5);
    expect(Array.from(clipped)).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
    const small = Float32Array.of(0.1, 0.2);
    expect(clipUpdate(small, 1).clipped).toBe(small);
  });

  it('weighs FedAvg by examples up to the cap', () => {
    const a = { clientId: 'a', delta: Float32Array.of(1, 0), examples: 500 };
    const b = { clientId: 'b', delta: Float32Array.of(0, 1), examples: 25 };
    const { delta, examples } = aggregate([a, b], { ...settings('fedavg'), clipNorm: 10 });
    // Weights 1 (capped) and 0.5.
    expect(Array.from(delta)).toEqual([expect.closeTo(2 / 3, 6), expect.closeTo(1 / 3, 6)]);
    expect(examples).toBe(75);
  });

  for (const aggregator of ['fedavg', 'trimmed-mean', 'median'] as const) {
    it(`${aggregator}: one adversarial client (huge, sign-flipped) moves the aggregate by at most its clipped share`, () => {
      const fleet = honest(10, 7);
      const clean = aggregate(fleet, settings(aggregator)).delta;
      const honestDelta = (fleet[0] as ClientUpdate).delta;
      const attacks = [honestDelta.map((v) => v * 1e9), honestDelta.map((v) => -v * 1e6)];
      for (const attack of attacks) {
        const poisoned = [...fleet.slice(1), { clientId: 'evil', delta: attack, examples: 10_000 }];
        const result = aggregate(poisoned, settings(aggregator));
        expect(result.clipped).toBeGreaterThanOrEqual(1);
        // FedAvg: its weight is at most 1 of Σw ≥ 10 clients' weights (≥ 0.4 each), its update at most CLIP.
        const bound = aggregator === 'fedavg' ? (2 * CLIP) / 5 : (2 * CLIP) / 8;
        expect(l2(result.delta, clean)).toBeLessThanOrEqual(bound);
      }
    });
  }

  it('adds Gaussian noise of σ · clipNorm to the sum (per coordinate, after averaging: σ · clipNorm / Σw)', () => {
    const fleet = honest(10, 3).map((u) => ({ ...u, examples: 50 }));
    const clean = aggregate(fleet, settings('fedavg')).delta;
    const noisy = aggregate(fleet, { ...settings('fedavg'), noiseMultiplier: 2, random: seededRandom(11) });
    expect(noisy.noiseStd).toBeCloseTo(0.2, 9);
    const residuals = Array.from(noisy.delta, (v, j) => v - (clean[j] as number));
    const std = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / residuals.length);
    expect(std).toBeGreaterThan(0.12);
    expect(std).toBeLessThan(0.3);
  });
});
