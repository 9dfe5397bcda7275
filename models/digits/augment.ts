import { type DigitRecords, IMAGE_SIZE, PIXELS } from './data.ts';

/**
 * A copy of `records` with every image moved by a random whole-pixel offset of up to
 * `maxShift` in each direction (uncovered pixels are 0). Handwriting sits at slightly different
 * places; with only 8,000 training digits these shifts are what keeps the CNN from memorising them.
 *
 * @example
 * const epochData = shiftDigits(train, seededRandom(1), 2);
 */
export function shiftDigits(records: DigitRecords, random: () => number, maxShift: number): DigitRecords {
  const pixels = new Uint8Array(records.pixels.length);
  const span = 2 * maxShift + 1;
  for (let i = 0; i < records.count; ++i) {
    const dRow = Math.floor(random() * span) - maxShift;
    const dCol = Math.floor(random() * span) - maxShift;
    const base = i * PIXELS;
    for (let row = Math.max(0, dRow); row < Math.min(IMAGE_SIZE, IMAGE_SIZE + dRow); ++row) {
      const from = base + (row - dRow) * IMAGE_SIZE;
      const to = base + row * IMAGE_SIZE;
      for (let col = Math.max(0, dCol); col < Math.min(IMAGE_SIZE, IMAGE_SIZE + dCol); ++col) {
        pixels[to + col] = records.pixels[from + col - dCol] as number;
      }
    }
  }
  return { count: records.count, labels: records.labels.slice(), pixels };
}
