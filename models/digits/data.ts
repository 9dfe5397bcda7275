import { EdgeloopError } from '../../protocol/errors.ts';
import { DIGIT_RECORD_BYTES } from '../../protocol/manifest.ts';
import { encodeExamples, readExamples } from '../../protocol/tensors/examples.ts';

// Pure record handling, free of tfjs, so tests and tools outside the worker can read the data.

/** Side of a digit image, in pixels. */
export const IMAGE_SIZE = 28;

/** Pixels in one 28×28 digit image. */
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

/** Digit examples: `labels[i]` (0–9) and its 784 row-major pixel bytes (0–255) at `pixels[i * 784]`. */
export interface DigitRecords {
  count: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

/** The demo version's example sets: safetensors examples files (protocol/tensors/examples.ts). */
export const REPLAY_FILE = 'replay.safetensors';
export const HOLDOUT_FILE = 'holdout.safetensors';

/** What the pixel bytes stand for: byte / 255, as the model takes its inputs. */
const PIXEL_SCALE = 1 / 255;

/**
 * Encodes digit records as an examples file: U8 `inputs` [count, 28, 28, 1] with
 * `inputs_scale` 1/255 (images stay one byte a pixel) and I32 `labels` [count].
 *
 * @example
 * writeFileSync(join(ARTIFACTS_DIR, HOLDOUT_FILE), encodeDigitExamples(holdout));
 */
export function encodeDigitExamples(records: DigitRecords): Uint8Array {
  return encodeExamples({
    shape: [IMAGE_SIZE, IMAGE_SIZE, 1],
    inputs: records.pixels,
    scale: PIXEL_SCALE,
    labels: Int32Array.from(records.labels),
  });
}

/**
 * Decodes an examples file of digits (`replay.safetensors`, `holdout.safetensors`, or legacy
 * records as in `replay.bin`) to records, the pixel bytes as stored. INVALID_MANIFEST naming
 * `fileName` when it is not digits: 784 U8 values scaled by 1/255 and labels 0–9.
 *
 * @example
 * const { count, labels, pixels } = decodeDigitExamples(readFileSync(path), 'holdout.safetensors');
 */
export function decodeDigitExamples(bytes: Uint8Array, fileName: string): DigitRecords {
  const stored = readExamples(bytes, { task: 'classification', size: PIXELS, classes: 10 }, fileName);
  if (!(stored.inputs instanceof Uint8Array) || stored.scale !== PIXEL_SCALE)
    throw new EdgeloopError('INVALID_MANIFEST', `${fileName}: digit images are U8 inputs with inputs_scale 1/255`);
  return { count: stored.count, labels: Uint8Array.from(stored.labels), pixels: stored.inputs };
}

/**
 * Decodes legacy digit records (`replay.bin`/`holdout.bin` before the examples files): records
 * of 1 label byte + 784 pixel bytes.
 *
 * @example
 * const { count, labels, pixels } = decodeDigitRecords(new Uint8Array(await res.arrayBuffer()));
 */
export function decodeDigitRecords(bytes: Uint8Array): DigitRecords {
  if (bytes.length % DIGIT_RECORD_BYTES !== 0) {
    throw new Error(`digit records: ${bytes.length} bytes is not a multiple of ${DIGIT_RECORD_BYTES}`);
  }
  const count = bytes.length / DIGIT_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * PIXELS);
  for (let i = 0; i < count; ++i) {
    const at = i * DIGIT_RECORD_BYTES;
    const label = bytes[at] as number;
    if (label > 9) throw new Error(`digit records: record ${i} has label ${label}`);
    labels[i] = label;
    pixels.set(bytes.subarray(at + 1, at + DIGIT_RECORD_BYTES), i * PIXELS);
  }
  return { count, labels, pixels };
}

/**
 * Encodes digit records in the legacy `replay.bin`/`holdout.bin` layout (still read; tests
 * make such files to prove it).
 *
 * @example
 * const bytes = encodeDigitRecords({ count: 1, labels: Uint8Array.of(7), pixels: new Uint8Array(784) });
 */
export function encodeDigitRecords(records: DigitRecords): Uint8Array {
  const bytes = new Uint8Array(records.count * DIGIT_RECORD_BYTES);
  for (let i = 0; i < records.count; ++i) {
    const at = i * DIGIT_RECORD_BYTES;
    bytes[at] = records.labels[i] as number;
    bytes.set(records.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), at + 1);
  }
  return bytes;
}

/**
 * Picks records by index, in the order given.
 *
 * @example
 * const firstTen = selectDigitRecords(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 */
export function selectDigitRecords(records: DigitRecords, indices: readonly number[]): DigitRecords {
  const labels = new Uint8Array(indices.length);
  const pixels = new Uint8Array(indices.length * PIXELS);
  indices.forEach((from, to) => {
    labels[to] = records.labels[from] as number;
    pixels.set(records.pixels.subarray(from * PIXELS, (from + 1) * PIXELS), to * PIXELS);
  });
  return { count: indices.length, labels, pixels };
}

/**
 * Shuffles `items` in place (Fisher–Yates) with the given random source.
 *
 * @example
 * shuffleInPlace([0, 1, 2, 3], seededRandom(1));
 */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; --i) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
