import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.ts';
import { kllFromValues, rank } from './kll.ts';

const N = 1_000_000;
const DOMAIN = 1 << 16;

describe('KLL accuracy at k = 200', () => {
  it('keeps the normalised rank error within 0.0165 over 10^6 values in at least 99 of 100 trials', () => {
    // Each trial streams 10^6 random integers below 2^16 (exact in float32); a histogram gives the
    // true ranks without sorting, which keeps the 100 trials fast.
    const values = new Float64Array(N);
    const histogram = new Float64Array(DOMAIN);
    const errors: number[] = [];
    for (let trial = 0; trial < 100; trial++) {
      const random = seededRandom(trial + 1);
      histogram.fill(0);
      for (let i = 0; i < N; i++) {
        const x = Math.floor(random() * DOMAIN);
        values[i] = x;
        histogram[x] = (histogram[x] as number) + 1;
      }
      const sketch = kllFromValues(values, 200);
      let below = 0;
      let worst = 0;
      for (let x = 0; x < DOMAIN; x++) {
        below += histogram[x] as number;
        if (x % 256 === 255) worst = Math.max(worst, Math.abs(rank(sketch, x) - below / N));
      }
      errors.push(worst);
    }
    expect(errors.filter((e) => e > 0.0165).length).toBeLessThanOrEqual(1);
    // Typically well inside the bound, not just under it.
    expect(errors.sort((x, y) => x - y)[50]).toBeLessThan(0.01);
  });
});
