import { describe, expect, it } from 'vitest';
import { epsilonOf, ORDERS, privacySpent, rdpSampledGaussian } from '../src/rounds/privacy.ts';

// The accountant against values Google's dp_accounting publishes in its tests
// (rdp_privacy_accountant_test.py), and the properties a privacy ledger must have.

describe('privacy accountant', () => {
  it("gives the sampled Gaussian's RDP as dp_accounting does (q 0.01, σ 2.5, 50 steps)", () => {
    const [at5, at50] = rdpSampledGaussian(0.01, 2.5, [5, 50], 50);
    expect(at5).toBeCloseTo(2.18075656e-3, 7);
    expect(at50).toBeCloseTo(2.38460375e-2, 6);
  });

  it('is the plain Gaussian mechanism at q = 1: α / (2σ²)', () => {
    expect(rdpSampledGaussian(1, 3, [7])[0]).toBeCloseTo(7 / 18, 12);
  });

  it('converts RDP to (ε, δ) with the bound dp_accounting uses', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const pure = epsilonOf(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    expect(pure.epsilon).toBeCloseTo(1.32783806176, 9);
    expect(pure.order).toBe(32);
    // σ = 4.530877117 is exactly (1, 1e-6)-DP for one Gaussian release; integer orders reach it to 1e-6.
    const gaussian = epsilonOf(ORDERS, rdpSampledGaussian(1, 4.530877117), 1e-6);
    expect(gaussian.epsilon).toBeGreaterThanOrEqual(1 - 1e-9);
    expect(gaussian.epsilon).toBeLessThan(1 + 1e-5);
  });

  it('adds up over rounds, costs less with more noise or fewer sampled, nothing for nobody, everything without noise', () => {
    const round = { q: 0.2, noiseMultiplier: 1 };
    const one = privacySpent([round], 1e-5).epsilon;
    const ten = privacySpent(Array(10).fill(round), 1e-5).epsilon;
    expect(ten).toBeGreaterThan(one);
    // Composition in RDP is tighter than adding each round's ε.
    expect(ten).toBeLessThan(10 * one);
    expect(privacySpent([{ q: 0.2, noiseMultiplier: 2 }], 1e-5).epsilon).toBeLessThan(one);
    expect(privacySpent([{ q: 0.05, noiseMultiplier: 1 }], 1e-5).epsilon).toBeLessThan(one);
    expect(privacySpent([{ q: 0, noiseMultiplier: 1 }], 1e-5).epsilon).toBe(0);
    expect(privacySpent([], 1e-5).epsilon).toBe(0);
    expect(privacySpent([{ q: 0.2, noiseMultiplier: 0 }], 1e-5).epsilon).toBe(Number.POSITIVE_INFINITY);
    expect(() => epsilonOf(ORDERS, rdpSampledGaussian(0.1, 1), 0)).toThrow(RangeError);
    expect(() => rdpSampledGaussian(0.1, 1, [1.5])).toThrow(RangeError);
  });
});
