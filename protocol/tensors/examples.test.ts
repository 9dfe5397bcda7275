import { describe, expect, it } from 'vitest';
import { decodeExamples, encodeExamples, isSafetensors, readExamples } from './examples.ts';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.ts';

const DIGITS = { task: 'classification', size: 6, classes: 3 } as const;

/** Legacy records of one label byte and six input bytes. */
function legacyRecords(labels: number[], inputs: Uint8Array): Uint8Array {
  const out = new Uint8Array(labels.length * 7);
  labels.forEach((label, i) => {
    out[i * 7] = label;
    out.set(inputs.subarray(i * 6, (i + 1) * 6), i * 7 + 1);
  });
  return out;
}

const bytes = Uint8Array.from({ length: 18 }, (_, i) => (i * 37) % 256);

/** The message of the INVALID_MANIFEST error `read` throws. */
function refusal(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    expect(error).toMatchObject({ code: 'INVALID_MANIFEST' });
    return (error as Error).message;
  }
  throw new Error('not refused');
}

describe('examples files', () => {
  it('stores byte inputs with their scale and class labels, and reads them as float32', () => {
    const file = encodeExamples({ shape: [2, 3], inputs: bytes, scale: 1 / 255, labels: Int32Array.of(2, 0, 1) });
    const raw = decodeSafetensors(file, 'replay.safetensors');
    expect(raw.metadata).toEqual({ inputs_scale: '0.00392156862745098' });
    expect(raw.tensors.get('inputs')).toMatchObject({ dtype: 'U8', shape: [3, 2, 3] });
    expect(raw.tensors.get('labels')).toEqual({ dtype: 'I32', shape: [3], data: Int32Array.of(2, 0, 1) });
    const examples = decodeExamples(file, DIGITS, 'replay.safetensors');
    expect(examples).toEqual({
      count: 3,
      size: 6,
      inputs: Float32Array.from(bytes, (b) => b / 255),
      labels: Int32Array.of(2, 0, 1),
    });
    expect(readExamples(file, DIGITS, 'replay.safetensors')).toMatchObject({ inputs: bytes, scale: 1 / 255 });
  });

  it('reads legacy records as before, to the same examples as their safetensors file, bit for bit', () => {
    const all = Uint8Array.from({ length: 256 * 6 }, (_, i) => i % 256);
    const labels = Array.from({ length: 256 }, (_, i) => i % 3);
    const legacy = legacyRecords(labels, all);
    expect(isSafetensors(legacy)).toBe(false);
    const old = decodeExamples(legacy, DIGITS, 'holdout.bin');
    // What the worker's and the edge's record decoders computed.
    expect(old.inputs).toEqual(Float32Array.from(all, (b) => b / 255));
    expect(old.labels).toEqual(Int32Array.from(labels));
    expect(readExamples(legacy, DIGITS, 'holdout.bin')).toMatchObject({ legacy: true, scale: 1 / 255 });
    const file = encodeExamples({ shape: [6], inputs: all, scale: 1 / 255, labels: Int32Array.from(labels) });
    expect(isSafetensors(file)).toBe(true);
    expect(decodeExamples(file, DIGITS, 'holdout.safetensors')).toEqual(old);
    // Records whose first bytes read as a header length that fits (2) and whose ninth byte is
    // "{" are still records: that header does not end in "}".
    const brace = legacyRecords([2, 0], Uint8Array.of(0, 0, 0, 0, 0, 0, 123, 1, 2, 3, 4, 5));
    expect(isSafetensors(brace)).toBe(false);
    expect(decodeExamples(brace, DIGITS, 'holdout.bin').labels).toEqual(Int32Array.of(2, 0));
  });

  it('reads float32 inputs, int64 class labels and regression targets', () => {
    const inputs = Float32Array.from({ length: 12 }, (_, i) => i / 4 - 1);
    const file = encodeSafetensors({
      inputs: { dtype: 'F32', shape: [2, 6], data: inputs },
      labels: { dtype: 'I64', shape: [2], data: BigInt64Array.of(2n, 0n) },
    });
    expect(decodeExamples(file, DIGITS, 'torch.safetensors')).toEqual({
      count: 2,
      size: 6,
      inputs,
      labels: Int32Array.of(2, 0),
    });
    const one = encodeExamples({ shape: [6], inputs, labels: Float32Array.of(0.5, -3) });
    expect(decodeSafetensors(one, 'r').tensors.get('labels')?.shape).toEqual([2]);
    expect(decodeExamples(one, { task: 'regression', size: 6, targets: 1 }, 'r').labels).toEqual(
      Float32Array.of(0.5, -3),
    );
    const two = encodeExamples({ shape: [6], inputs, labels: Float32Array.of(1, 2, 3, 4), targets: 2 });
    expect(decodeSafetensors(two, 'r').tensors.get('labels')?.shape).toEqual([2, 2]);
    expect(decodeExamples(two, { task: 'regression', size: 6, targets: 2 }, 'r')).toMatchObject({
      count: 2,
      labels: Float32Array.of(1, 2, 3, 4),
    });
  });

  it('refuses labels that are not classes, inputs of another size, NaN and files of another layout', () => {
    const u8 = (shape: number[], data = new Uint8Array(shape.reduce((n, d) => n * d, 1))): Tensor => ({
      dtype: 'U8',
      shape,
      data,
    });
    const i32 = (...labels: number[]): Tensor => ({
      dtype: 'I32',
      shape: [labels.length],
      data: Int32Array.from(labels),
    });
    const scaled = { inputs_scale: '0.5' };
    const read = (tensors: Record<string, Tensor>, metadata?: Record<string, string>) =>
      refusal(() => decodeExamples(encodeSafetensors(tensors, metadata), DIGITS, 'h.safetensors'));

    expect(read({ inputs: u8([2, 6]), labels: i32(0, 3) }, scaled)).toBe(
      'h.safetensors: example 1 has label 3, not a class in [0, 3)',
    );
    expect(read({ inputs: u8([1, 6]), labels: i32(-1) }, scaled)).toMatch(/example 0 has label -1/);
    const huge: Tensor = { dtype: 'I64', shape: [1], data: BigInt64Array.of(2n ** 32n + 1n) };
    expect(read({ inputs: u8([1, 6]), labels: huge }, scaled)).toMatch(/example 0 has label 4294967297, not a class/);
    expect(refusal(() => decodeExamples(legacyRecords([1, 7], bytes), DIGITS, 'holdout.bin'))).toBe(
      'holdout.bin: example 1 has label 7, not a class in [0, 3)',
    );
    expect(read({ inputs: u8([2, 5]), labels: i32(0, 1) }, scaled)).toBe(
      'h.safetensors: tensor "inputs": examples of shape [5] are 5 values, not 6',
    );
    expect(read({ inputs: u8([]), labels: i32(0) }, scaled)).toBe(
      'h.safetensors: tensor "inputs" has no examples dimension',
    );
    const nan = Float32Array.of(0, 1, Number.NaN, 0, 0, 0);
    expect(read({ inputs: { dtype: 'F32', shape: [1, 6], data: nan }, labels: i32(0) })).toBe(
      'h.safetensors: tensor "inputs": value 2 is NaN',
    );
    expect(read({ inputs: { dtype: 'F32', shape: [1, 6], data: new Float32Array(6) }, labels: i32(0) }, scaled)).toBe(
      'h.safetensors: inputs_scale is for U8 inputs; these are F32',
    );
    expect(read({ inputs: u8([1, 6]), labels: i32(0) })).toBe(
      'h.safetensors: U8 inputs need inputs_scale, a decimal > 0 (value = byte × scale), not undefined',
    );
    for (const scale of ['1/255', '-0.5', '0', 'NaN', ' 0.5'])
      expect(read({ inputs: u8([1, 6]), labels: i32(0) }, { inputs_scale: scale })).toMatch(/need inputs_scale/);
    expect(read({ inputs: { dtype: 'I32', shape: [1, 6], data: new Int32Array(6) }, labels: i32(0) })).toBe(
      'h.safetensors: tensor "inputs" is I32; examples\' inputs are F32 or U8',
    );
    expect(read({ inputs: u8([1, 6]), labels: i32(0), weights: u8([1]) }, scaled)).toBe(
      'h.safetensors: tensor "weights" is not one of an examples file (inputs, labels)',
    );
    expect(read({ inputs: u8([1, 6]) }, scaled)).toBe(
      'h.safetensors: an examples file holds tensors "inputs" and "labels"',
    );
    expect(read({ inputs: u8([2, 6]), labels: i32(0) }, scaled)).toBe(
      'h.safetensors: tensor "labels" has shape [1] for 2 examples',
    );
    const floats: Tensor = { dtype: 'F32', shape: [1], data: Float32Array.of(1) };
    expect(read({ inputs: u8([1, 6]), labels: floats }, scaled)).toBe(
      'h.safetensors: tensor "labels" is F32; class labels are I32 (or I64)',
    );
    const wide: Tensor = { dtype: 'I32', shape: [1, 1], data: Int32Array.of(0) };
    expect(read({ inputs: u8([1, 6]), labels: wide }, scaled)).toMatch(
      /class labels are shaped \[count\], not \[1,1\]/,
    );

    const targets = (labels: Tensor, count = 1) =>
      refusal(() =>
        decodeExamples(
          encodeSafetensors({ inputs: u8([count, 6]), labels }, scaled),
          { task: 'regression', size: 6, targets: 2 },
          'r.safetensors',
        ),
      );
    expect(targets({ dtype: 'F32', shape: [1, 2], data: Float32Array.of(1, Number.POSITIVE_INFINITY) })).toBe(
      'r.safetensors: tensor "labels": value 1 is Infinity',
    );
    expect(targets({ dtype: 'F32', shape: [1], data: Float32Array.of(1) })).toBe(
      'r.safetensors: tensor "labels" is F32 [1]; targets are F32 [1,2]',
    );
    expect(targets({ dtype: 'I32', shape: [1, 2], data: Int32Array.of(0, 1) })).toMatch(
      /is I32 \[1,2\]; targets are F32/,
    );
    expect(
      refusal(() => decodeExamples(legacyRecords([0], bytes), { task: 'regression', size: 6, targets: 1 }, 'r.bin')),
    ).toBe('r.bin: is not safetensors, and records of label bytes hold classes only, not regression targets');
    expect(refusal(() => decodeExamples(new Uint8Array(15), DIGITS, 'holdout.bin'))).toBe(
      'holdout.bin: is not safetensors, and 15 bytes is not a multiple of 7 (records of a label byte and 6 input bytes)',
    );
    // A safetensors file cut short: in its data, as safetensors; in its header, as neither.
    const cut = encodeExamples({ shape: [6], inputs: bytes.subarray(0, 6), scale: 0.5, labels: Int32Array.of(0) });
    expect(refusal(() => decodeExamples(cut.subarray(0, cut.length - 1), DIGITS, 'h'))).toBe(
      'h: tensor "inputs": data_offsets [4, 10] are out of range of the 9 data bytes',
    );
    expect(refusal(() => decodeExamples(cut.subarray(0, 20), DIGITS, 'h'))).toMatch(
      /^h: is not safetensors, and 20 bytes/,
    );
  });

  it('refuses to write examples whose parts do not fit together', () => {
    const write = (file: Parameters<typeof encodeExamples>[0]) => () => encodeExamples(file);
    const labels = Int32Array.of(0, 1);
    expect(write({ shape: [5], inputs: new Uint8Array(12), scale: 1, labels })).toThrow(
      expect.objectContaining({
        code: 'INVALID_INPUT',
        message: 'examples: 12 input values are not examples of shape [5]',
      }),
    );
    expect(write({ shape: [6], inputs: new Uint8Array(12), labels })).toThrow(/byte inputs need a scale/);
    expect(write({ shape: [6], inputs: new Float32Array(12), scale: 1, labels })).toThrow(/float32 inputs take none/);
    expect(write({ shape: [6], inputs: new Uint8Array(12), scale: 0, labels })).toThrow(/scale 0 is not a number > 0/);
    expect(write({ shape: [6], inputs: new Float32Array(12), labels: Int32Array.of(0) })).toThrow(
      /1 labels for 2 examples of 1 label$/,
    );
    expect(write({ shape: [6], inputs: new Float32Array(12), labels: new Float32Array(2), targets: 2 })).toThrow(
      /2 labels for 2 examples of 2 labels/,
    );
    expect(write({ shape: [6], inputs: new Float32Array(12), labels, targets: 2 })).toThrow(
      /targets need float32 labels/,
    );
  });
});
