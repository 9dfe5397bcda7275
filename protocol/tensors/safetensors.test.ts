import { describe, expect, it } from 'vitest';
import { bfloatToFloat, floatToBfloat, floatToHalf, halfToFloat } from './half.ts';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.ts';

/** A file of `header` (as written, unpadded) and `data`. */
function file(header: string, data: ArrayLike<number> = []): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const u8 = (name: string, begin: number, end: number, shape = [end - begin]) =>
  `"${name}":{"dtype":"U8","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`;

const hex = (text: string) => Uint8Array.from(text.split(' '), (b) => Number.parseInt(b, 16));

// Built by hand from the format's definition: the u64 header length, the header (tensors widest
// dtype first, then by name, offsets from the end of the header, padded with spaces to 8 bytes)
// and the little-endian data. Python's safetensors 0.8.0 `safetensors.numpy.save` of the same
// arrays and metadata writes exactly these bytes, and its `load` reads them.
const HEADER =
  '{"__metadata__":{"inputs_scale":"0.5"},' +
  '"big":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
  '"x":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
  '"labels":{"dtype":"I32","shape":[2],"data_offsets":[12,20]},' +
  '"half":{"dtype":"F16","shape":[2],"data_offsets":[20,24]},' +
  '"inputs":{"dtype":"U8","shape":[2,3],"data_offsets":[24,30]},' +
  '"flags":{"dtype":"BOOL","shape":[2],"data_offsets":[30,32]}}';
const FIXTURE = Uint8Array.from([
  ...hex('88 01 00 00 00 00 00 00'), // 392: the header's 387 bytes and 5 spaces
  ...Array.from(HEADER, (c) => c.charCodeAt(0)),
  ...new Array(5).fill(0x20),
  ...hex('fe ff ff ff ff ff ff ff'), // big: -2
  ...hex('00 00 00 3f'), // x: 0.5
  ...hex('03 00 00 00 01 00 00 00'), // labels: 3, 1
  ...hex('00 3e 00 c0'), // half: 1.5, -2
  ...hex('00 ff 07 01 02 03'), // inputs
  ...hex('01 00'), // flags: true, false
]);

const FIXTURE_TENSORS: Record<string, Tensor> = {
  labels: { dtype: 'I32', shape: [2], data: Int32Array.of(3, 1) },
  inputs: { dtype: 'U8', shape: [2, 3], data: Uint8Array.of(0, 255, 7, 1, 2, 3) },
  half: { dtype: 'F16', shape: [2], data: Float32Array.of(1.5, -2) },
  big: { dtype: 'I64', shape: [1], data: BigInt64Array.of(-2n) },
  x: { dtype: 'F32', shape: [1], data: Float32Array.of(0.5) },
  flags: { dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
};

describe('safetensors', () => {
  it('writes the hand-built fixture byte for byte and reads it back', () => {
    expect(HEADER.length).toBe(387);
    expect(encodeSafetensors(FIXTURE_TENSORS, { inputs_scale: '0.5' })).toEqual(FIXTURE);
    const { tensors, metadata } = decodeSafetensors(FIXTURE, 'fixture.safetensors');
    expect(metadata).toEqual({ inputs_scale: '0.5' });
    expect([...tensors.keys()]).toEqual(['big', 'x', 'labels', 'half', 'inputs', 'flags']);
    for (const [name, tensor] of Object.entries(FIXTURE_TENSORS)) expect(tensors.get(name), name).toEqual(tensor);
  });

  it('round-trips every dtype, empty tensors and names JSON must escape', () => {
    const tensors: Record<string, Tensor> = {
      'é "quoted" \\ name': { dtype: 'F64', shape: [2], data: Float64Array.of(Math.PI, -0) },
      u64: { dtype: 'U64', shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
      u32: { dtype: 'U32', shape: [1], data: Uint32Array.of(4_000_000_000) },
      i16: { dtype: 'I16', shape: [2], data: Int16Array.of(-32768, 7) },
      u16: { dtype: 'U16', shape: [1], data: Uint16Array.of(65535) },
      bf16: { dtype: 'BF16', shape: [2], data: Float32Array.of(1, -0.5) },
      i8: { dtype: 'I8', shape: [2], data: Int8Array.of(-128, 127) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      '10': { dtype: 'U8', shape: [], data: Uint8Array.of(9) },
    };
    const bytes = encodeSafetensors(tensors, { note: 'ünïcode', a: '' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    // The header is ASCII (non-ASCII escaped) and ends in the padding spaces.
    expect(bytes.subarray(8, 8 + headerLength).every((b) => b < 0x80)).toBe(true);
    const decoded = decodeSafetensors(bytes, 'all.safetensors');
    expect(decoded.metadata).toEqual({ a: '', note: 'ünïcode' });
    expect(Object.fromEntries(decoded.tensors)).toEqual(tensors);
    expect(decodeSafetensors(encodeSafetensors({}), 'none.safetensors')).toEqual({ tensors: new Map(), metadata: {} });
  });

  it('converts F16 as numpy does, and every F16 and BF16 value round-trips', () => {
    const values = [0, -0, 1, -2, 65504, 65519.99609375, 65520, 1e-8, 2 ** -24, 2 ** -25, 3 * 2 ** -26];
    const more = [2 ** -14, 2 ** -14 - 2 ** -24, 0.1, 1 / 3, 1 + 2 ** -11, 1 + 3 * 2 ** -11, Infinity, -Infinity];
    // numpy 2.4: np.array(values, dtype=np.float32).astype(np.float16).view(np.uint16)
    expect([...values, ...more].map(floatToHalf)).toEqual([
      0x0, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x7bff, 0x7c00, 0x0, 0x1, 0x0, 0x1, 0x400, 0x3ff, 0x2e66, 0x3555, 0x3c00,
      0x3c02, 0x7c00, 0xfc00,
    ]);
    expect(Number.isNaN(halfToFloat(floatToHalf(Number.NaN)))).toBe(true);
    expect(Number.isNaN(bfloatToFloat(floatToBfloat(Number.NaN)))).toBe(true);
    for (let bits = 0; bits < 0x10000; bits++) {
      const halfNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
      if (!halfNaN && floatToHalf(halfToFloat(bits)) !== bits) throw new Error(`F16 ${bits.toString(16)}`);
      const bfloatNaN = (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
      if (!bfloatNaN && floatToBfloat(bfloatToFloat(bits)) !== bits) throw new Error(`BF16 ${bits.toString(16)}`);
    }
    // Ties to even: 1 + 2^-8 is halfway between two bfloat16s.
    expect([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20].map(floatToBfloat)).toEqual([0x3f80, 0x3f82, 0x3f81]);
  });

  it('refuses what is not a safetensors file, naming the file and the tensor', () => {
    const refused = (bytes: Uint8Array) => {
      try {
        decodeSafetensors(bytes, 'bad.safetensors');
      } catch (error) {
        expect(error).toMatchObject({ code: 'INVALID_MANIFEST' });
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused(new Uint8Array(7))).toBe('bad.safetensors: 7 bytes is too short for a safetensors header');
    const past = file(`{${u8('a', 0, 1)}}`, [1]);
    past[0] = 200;
    expect(refused(past)).toBe("bad.safetensors: the header length 200 runs past the file's 62 bytes");
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expect(refused(huge)).toMatch(/header length 18446744073709551615 runs past/);
    expect(refused(file('{"a":'))).toMatch(/^bad.safetensors: the header is not JSON \(/);
    expect(refused(file('{} x'))).toMatch(/the header is not JSON/);
    expect(refused(file(' {}'))).toBe('bad.safetensors: the header does not start with "{"');
    expect(refused(file('[]'))).toBe('bad.safetensors: the header does not start with "{"');
    const latin1 = file('{"\u00e9":1}');
    latin1.set([0xe9, 0x22, 0x3a, 0x31, 0x7d, 0x20], 10); // é as one Latin-1 byte
    expect(refused(latin1)).toBe('bad.safetensors: the header is not UTF-8');
    expect(refused(file('{"\ud83d\ude00":1}'))).toMatch(/tensor "😀": is not an object/); // 4-byte UTF-8 is fine
    expect(refused(file(`{${u8('a', 0, 1)},${u8('a', 1, 2)}}`, [1, 2]))).toBe(
      'bad.safetensors: tensor "a" is named twice in the header',
    );
    const dtype = (d: unknown) => file(`{"w":{"dtype":${JSON.stringify(d)},"shape":[1],"data_offsets":[0,1]}}`, [1]);
    expect(refused(dtype('F8_E4M3'))).toBe(
      'bad.safetensors: tensor "w": unknown dtype "F8_E4M3" (known: BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)',
    );
    expect(refused(dtype('constructor'))).toMatch(/tensor "w": unknown dtype "constructor"/);
    expect(refused(dtype(3))).toMatch(/tensor "w": unknown dtype 3/);
    expect(refused(file('{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', [1]))).toBe(
      'bad.safetensors: tensor "w": shape [-1] is not a list of integers ≥ 0',
    );
    expect(refused(file('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', [1]))).toBe(
      'bad.safetensors: tensor "w": data_offsets [0] is not [begin, end]',
    );
    expect(refused(file('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":0}}', [1]))).toBe(
      'bad.safetensors: tensor "w": has an unknown field "x"',
    );
    expect(refused(file('{"w":[]}'))).toBe('bad.safetensors: tensor "w": is not an object');
    expect(refused(file(`{${u8('w', 0, 3)}}`, [1, 2]))).toBe(
      'bad.safetensors: tensor "w": data_offsets [0, 3] are out of range of the 2 data bytes',
    );
    expect(refused(file(`{${u8('w', 2, 1, [0])}}`, [1, 2]))).toMatch(/data_offsets \[2, 1\] are out of range/);
    expect(refused(file('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}', new Array(8).fill(0)))).toBe(
      'bad.safetensors: tensor "w": 8 bytes is not shape [2,2] × 4 bytes (F32)',
    );
    expect(refused(file(`{${u8('a', 0, 2)},${u8('b', 1, 3)}}`, [1, 2, 3]))).toBe(
      'bad.safetensors: tensor "b" overlaps tensor "a"',
    );
    expect(refused(file(`{${u8('a', 1, 2)}}`, [1, 2]))).toBe(
      'bad.safetensors: tensor "a" starts at 1, leaving bytes 0–1 unused',
    );
    expect(refused(file(`{${u8('a', 0, 1)}}`, [1, 2]))).toBe(
      'bad.safetensors: 1 bytes after the last tensor are not part of any tensor',
    );
    expect(refused(file('{"__metadata__":{"k":1}}'))).toBe('bad.safetensors: __metadata__ is not an object of strings');
    expect(refused(file('{"flags":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}', [2]))).toBe(
      'bad.safetensors: tensor "flags": BOOL holds a byte other than 0 or 1',
    );
  });

  it('refuses to write a tensor its data does not fit', () => {
    const bad =
      (tensor: Tensor, name = 't') =>
      () =>
        encodeSafetensors({ [name]: tensor });
    expect(bad({ dtype: 'F32', shape: [3], data: new Float32Array(2) })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: 'safetensors: tensor "t" has 2 values for shape [3]' }),
    );
    expect(bad({ dtype: 'U8', shape: [1.5], data: new Uint8Array(1) })).toThrow(/bad shape \[1.5\]/);
    expect(bad({ dtype: 'BOOL', shape: [1], data: Uint8Array.of(2) })).toThrow(/BOOL with a value other than 0 or 1/);
    expect(bad({ dtype: 'X' as 'U8', shape: [1], data: new Uint8Array(1) })).toThrow(/unknown dtype "X"/);
    expect(bad({ dtype: 'U8', shape: [0], data: new Uint8Array(0) }, '__metadata__')).toThrow(/reserved name/);
  });
});
