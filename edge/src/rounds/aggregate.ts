// Aggregation of a federated round's client updates (issue 15): each update is a weight delta
// against the round's base, float32 in the order of the base's weights. The edge clips every
// update itself (a client's own clipping is not trusted), so one client moves the aggregate by
// at most its clipped share, then averages — FedAvg weighted by examples up to a cap, or a
// coordinate-wise trimmed mean or median when the round asks for robustness — and adds
// Gaussian noise of σ · clipNorm to the sum (central DP; see privacy.ts for the accounting).

export type Aggregator = 'fedavg' | 'trimmed-mean' | 'median';

export interface ClientUpdate {
  clientId: string;
  delta: Float32Array;
  examples: number;
}

export interface AggregateSettings {
  clipNorm: number;
  noiseMultiplier: number;
  aggregator: Aggregator;
  /** Examples at which a client's FedAvg weight stops growing (weight = min(examples, cap) / cap). */
  exampleCap: number;
  /** Share of the values cut from each end per coordinate by the trimmed mean (default 0.1, at least one each side from 3 clients). */
  trim?: number;
  /** Uniform [0, 1) draws for the noise; crypto-strength unless a test seeds it. */
  random?: () => number;
}

/** What was aggregated, and how. */
export interface Aggregate {
  delta: Float32Array;
  contributors: number;
  /** Examples of the contributors, each counted up to the cap. */
  examples: number;
  /** Standard deviation of the noise added to each coordinate of the aggregate (after averaging). */
  noiseStd: number;
  /** Updates whose L2 norm was over clipNorm, so were scaled down. */
  clipped: number;
}

/**
 * Why an update cannot be aggregated (null when it can): a length other than the base's
 * weights, or a value that is not finite. The round's route answers it with a 4xx code.
 *
 * @example
 * updateProblem(new Float32Array([1, NaN]), 2); // 'value 1 is NaN'
 */
export function updateProblem(delta: Float32Array, length: number): string | null {
  if (delta.length !== length) return `${delta.length} values; the base has ${length} weights`;
  for (let i = 0; i < delta.length; i++) {
    const value = delta[i] as number;
    if (!Number.isFinite(value)) return `value ${i} is ${value}`;
  }
  return null;
}

/**
 * `delta` scaled to L2 norm at most `clipNorm` (whole model), with its norm before.
 *
 * @example
 * clipUpdate(Float32Array.of(3, 4), 1); // { clipped: [0.6, 0.8], norm: 5 }
 */
export function clipUpdate(delta: Float32Array, clipNorm: number): { clipped: Float32Array; norm: number } {
  let squares = 0;
  for (const value of delta) squares += value * value;
  const norm = Math.sqrt(squares);
  const scale = norm > clipNorm ? clipNorm / norm : 1;
  return { clipped: scale === 1 ? delta : delta.map((v) => v * scale), norm };
}

function cryptoUniform(): number {
  return (crypto.getRandomValues(new Uint32Array(1))[0] as number) / 4_294_967_296;
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: its log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** The trimmed mean (or median) of each coordinate of `rows`. */
function coordinatewise(
  rows: Float32Array[],
  length: number,
  cut: (n: number) => number,
  median: boolean,
): Float32Array {
  const out = new Float32Array(length);
  const column = new Float64Array(rows.length);
  for (let j = 0; j < length; j++) {
    rows.forEach((row, i) => {
      column[i] = row[j] as number;
    });
    column.sort();
    const n = column.length;
    if (median) {
      out[j] =
        n % 2 === 1 ? (column[(n - 1) / 2] as number) : ((column[n / 2 - 1] as number) + (column[n / 2] as number)) / 2;
      continue;
    }
    const t = cut(n);
    let sum = 0;
    for (let i = t; i < n - t; i++) sum += column[i] as number;
    out[j] = sum / (n - 2 * t);
  }
  return out;
}

/**
 * Aggregates checked updates (see {@link updateProblem}) of equal length: each clipped to
 * `clipNorm`, then averaged by `aggregator`, plus Gaussian noise. FedAvg weighs client k by
 * w_k = min(examples_k, cap) / cap ≤ 1, so one client adds at most clipNorm to the weighted sum:
 * the sum gets N(0, (σ · clipNorm)²) per coordinate before it is divided by Σ w_k (the
 * contributor count and weights are treated as public). The trimmed mean and median weigh
 * clients equally; their noise is σ · clipNorm divided by the number of values averaged.
 *
 * @example
 * const { delta } = aggregate(updates, { clipNorm: 1, noiseMultiplier: 0, aggregator: 'fedavg', exampleCap: 50 });
 */
export function aggregate(updates: readonly ClientUpdate[], settings: AggregateSettings): Aggregate {
  const [first] = updates;
  if (!first) throw new RangeError('no updates to aggregate');
  const length = first.delta.length;
  const random = settings.random ?? cryptoUniform;
  const sigma = settings.noiseMultiplier * settings.clipNorm;
  let clipped = 0;
  const rows = updates.map((update) => {
    const result = clipUpdate(update.delta, settings.clipNorm);
    if (result.norm > settings.clipNorm) clipped++;
    return result.clipped;
  });
  const examples = updates.reduce((sum, u) => sum + Math.min(u.examples, settings.exampleCap), 0);
  let delta: Float32Array;
  let noiseStd: number;
  if (settings.aggregator === 'fedavg') {
    const weights = updates.map((u) => Math.min(u.examples, settings.exampleCap) / settings.exampleCap);
    const total = weights.reduce((a, b) => a + b, 0);
    const sum = new Float64Array(length);
    rows.forEach((row, k) => {
      const w = weights[k] as number;
      for (let j = 0; j < length; j++) sum[j] = (sum[j] as number) + w * (row[j] as number);
    });
    delta = Float32Array.from(sum, (s) => (s + (sigma > 0 ? sigma * normal(random) : 0)) / total);
    noiseStd = sigma / total;
  } else {
    const share = settings.trim ?? 0.1;
    const cut = (n: number) => Math.min(Math.floor((n - 1) / 2), Math.max(n >= 3 ? 1 : 0, Math.floor(share * n)));
    const median = settings.aggregator === 'median';
    delta = coordinatewise(rows, length, cut, median);
    const averaged = median ? 1 : rows.length - 2 * cut(rows.length);
    noiseStd = sigma / averaged;
    if (noiseStd > 0) for (let j = 0; j < length; j++) delta[j] = (delta[j] as number) + noiseStd * normal(random);
  }
  return { delta, contributors: updates.length, examples, noiseStd, clipped };
}
