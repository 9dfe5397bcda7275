// Privacy accounting of federated rounds (issue 15): each round releases one noisy sum of
// clipped client updates — the sampled Gaussian mechanism, with sampling rate q = contributors
// over the eligible fleet and noise multiplier σ (noise σ · clipNorm on the sum). Its Rényi DP
// (Mironov, Talwar and Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
// Mechanism") adds up over rounds and converts to (ε, δ) with the bound of Balle et al. 2020
// (as Google's dp_accounting does). Written here rather than taken from a library: none is kept
// for JavaScript, and the part needed is a few exact formulas (tested against dp_accounting's
// published values).

/** The Rényi orders the accountant tracks: integers, where the sampled Gaussian's RDP has a closed form. */
export const ORDERS: readonly number[] = [...Array.from({ length: 63 }, (_, i) => i + 2), 80, 96, 128, 160, 192, 256];

/** log(exp(a) + exp(b)) without overflow. */
function logAdd(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  const high = Math.max(a, b);
  return high + Math.log1p(Math.exp(Math.min(a, b) - high));
}

/**
 * log A_α for an integer order α: A_α = Σ_k C(α, k) (1 − q)^(α−k) q^k exp((k² − k) / (2σ²)),
 * summed in log space.
 */
function logA(q: number, sigma: number, alpha: number): number {
  let total = Number.NEGATIVE_INFINITY;
  let logChoose = 0; // log C(α, 0)
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logChoose += Math.log((alpha - k + 1) / k);
    const term =
      logChoose + (alpha - k) * Math.log1p(-q) + (k === 0 ? 0 : k * Math.log(q)) + (k * k - k) / (2 * sigma * sigma);
    total = logAdd(total, term);
  }
  return total;
}

/**
 * The RDP, at each of `orders` (integers ≥ 2), of `count` rounds of the sampled Gaussian
 * mechanism with sampling rate `q` and noise multiplier `sigma`. No noise (σ = 0) is no privacy
 * (∞); nobody sampled (q = 0) costs nothing.
 *
 * @example
 * rdpSampledGaussian(0.01, 2.5, [5, 50], 50); // [2.18e-3, 2.38e-2]
 */
export function rdpSampledGaussian(q: number, sigma: number, orders: readonly number[] = ORDERS, count = 1): number[] {
  return orders.map((alpha) => {
    if (!Number.isInteger(alpha) || alpha < 2) throw new RangeError(`order ${alpha}: integers ≥ 2 only`);
    if (q === 0) return 0;
    if (sigma === 0) return Number.POSITIVE_INFINITY;
    // q = 1 is the plain Gaussian mechanism: α / (2σ²).
    const rdp = q === 1 ? alpha / (2 * sigma * sigma) : logA(q, sigma, alpha) / (alpha - 1);
    return count * rdp;
  });
}

/**
 * The smallest ε such that RDP `rdp` (at `orders`) gives (ε, δ)-DP, and the order that gives
 * it: ε = rdp + log((α − 1)/α) − (log δ + log α)/(α − 1), minimised over the orders.
 *
 * @example
 * epsilonOf(ORDERS, rdpSampledGaussian(0.1, 1.1, ORDERS, 10), 1e-5); // { epsilon: …, order: … }
 */
export function epsilonOf(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
): { epsilon: number; order: number } {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta ${delta}: must be in (0, 1)`);
  // Nothing released (every RDP 0) is no loss at all; the conversion below would add its slack.
  if (rdp.every((r) => r === 0)) return { epsilon: 0, order: orders[0] ?? 2 };
  let best = { epsilon: Number.POSITIVE_INFINITY, order: orders[0] ?? 2 };
  orders.forEach((alpha, i) => {
    const r = rdp[i] ?? Number.POSITIVE_INFINITY;
    if (r < 0 || !Number.isFinite(r)) return;
    const epsilon = Math.max(0, r + Math.log1p(-1 / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1));
    if (epsilon < best.epsilon) best = { epsilon, order: alpha };
  });
  return best;
}

/** One released aggregate: its sampling rate (contributors / eligible clients) and noise multiplier. */
export interface PrivacyEvent {
  q: number;
  noiseMultiplier: number;
}

/**
 * (ε, δ) spent by a sequence of rounds (a model's history): their RDP added at every order,
 * then converted once, which is tighter than adding each round's ε.
 *
 * @example
 * privacySpent([{ q: 0.2, noiseMultiplier: 1 }, { q: 0.2, noiseMultiplier: 1 }], 1e-5); // { epsilon, delta: 1e-5, order }
 */
export function privacySpent(
  events: readonly PrivacyEvent[],
  delta: number,
): { epsilon: number; delta: number; order: number } {
  const total = ORDERS.map(() => 0);
  for (const { q, noiseMultiplier } of events) {
    rdpSampledGaussian(q, noiseMultiplier).forEach((r, i) => {
      total[i] = (total[i] as number) + r;
    });
  }
  return { ...epsilonOf(ORDERS, total, delta), delta };
}
