import { describe, expect, it } from 'vitest';
import type { OipInferInput, OipTensorMetadata } from './oip.ts';
import { asFloat32, jsonData, readInput } from './oip-tensor.ts';

const spec: OipTensorMetadata = { name: 'x', datatype: 'FP32', shape: [-1, 2, 3] };
const input = (over: Partial<OipInferInput>): OipInferInput => ({
  name: 'x',
  datatype: 'FP32',
  shape: [1, 2, 3],
  data: [1, 2, 3, 4, 5, 6],
  ...over,
});

describe('readInput', () => {
  it('takes flat and nested data alike, row-major, any size where the model says -1', () => {
    const flat = readInput(input({}), spec);
    expect(flat.shape).toEqual([1, 2, 3]);
    expect([...flat.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(flat.data).toBeInstanceOf(Float32Array);
    const nested = readInput(
      input({
        data: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ],
      }),
      spec,
    );
    expect([...nested.data]).toEqual([1, 2, 3, 4, 5, 6]);
    const two = readInput(input({ shape: [2, 2, 3], data: Array.from({ length: 12 }, (_, i) => i / 2) }), spec);
    expect(two.shape).toEqual([2, 2, 3]);
    const ints = readInput(
      { name: 'ids', datatype: 'INT32', shape: [3], data: [1, -2, 2 ** 31 - 1] },
      { name: 'ids', datatype: 'INT32', shape: [-1] },
    );
    expect(ints.data).toBeInstanceOf(Int32Array);
    expect([...ints.data]).toEqual([1, -2, 2 ** 31 - 1]);
  });

  it.each([
    ['another datatype', input({ datatype: 'FP64' }), 'datatype FP64; the model takes FP32'],
    ['another rank', input({ shape: [6] }), 'shape [6]; the model takes [-1,2,3]'],
    ['a fixed size changed', input({ shape: [1, 3, 2] }), 'shape [1,3,2]'],
    ['too few elements', input({ data: [1, 2, 3] }), 'has 3 elements; shape [1,2,3] holds 6'],
    ['too many elements', input({ data: [1, 2, 3, 4, 5, 6, 7] }), 'has 7 elements'],
    [
      'a ragged nesting',
      input({
        data: [
          [
            [1, 2, 3],
            [4, 5],
          ],
        ],
      }),
      'data[0][1] has 2 entries',
    ],
    [
      'nesting deeper than the shape',
      input({
        data: [
          [
            [1, 2, 3],
            [4, 5, [6]],
          ],
        ],
      }),
      'nested deeper',
    ],
    ['nesting shallower than the shape', input({ data: [[1, 2], [3]] }), 'data has 2 entries'],
    ['a string element', input({ data: [1, 2, '3', 4, 5, 6] }), 'element 2 ("3") is not FP32'],
    ['a null element', input({ data: [1, 2, 3, null, 5, 6] }), 'element 3 (null) is not FP32'],
    ['a value past float32', input({ data: [1, 2, 3, 4, 5, -1e39] }), 'element 5 (-1e+39) is not FP32'],
    ['a huge tensor', input({ shape: [200_000, 2, 3] }), 'at most'],
  ])('refuses %s with INVALID_INPUT naming the input', (_what, bad, message) => {
    expect(() => readInput(bad, spec)).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/^input "x"/) }),
    );
    expect(() => readInput(bad, spec)).toThrow(message);
  });

  it('refuses INT32 elements that are not 32-bit integers', () => {
    const ids = { name: 'ids', datatype: 'INT32' as const, shape: [-1] };
    for (const x of [0.5, 2 ** 31, -(2 ** 31) - 1]) {
      expect(() => readInput({ name: 'ids', datatype: 'INT32', shape: [1], data: [x] }, ids)).toThrow('is not INT32');
    }
  });

  it('reads INT64, UINT8 and BOOL into their arrays, and answers them back as JSON', () => {
    const big = readInput(
      { name: 't', datatype: 'INT64', shape: [2], data: [2 ** 53 - 1, -7] },
      { name: 't', datatype: 'INT64', shape: [-1] },
    );
    expect(big.data).toBeInstanceOf(BigInt64Array);
    expect([...big.data]).toEqual([2n ** 53n - 1n, -7n]);
    expect(jsonData(big.data, 'INT64')).toEqual([2 ** 53 - 1, -7]);
    const bytes = readInput(
      { name: 'u', datatype: 'UINT8', shape: [1, 3], data: [[0, 128, 255]] },
      { name: 'u', datatype: 'UINT8', shape: [-1, 3] },
    );
    expect(bytes.data).toBeInstanceOf(Uint8Array);
    expect([...bytes.data]).toEqual([0, 128, 255]);
    const flags = readInput(
      { name: 'b', datatype: 'BOOL', shape: [3], data: [true, false, true] },
      { name: 'b', datatype: 'BOOL', shape: [-1] },
    );
    expect([...flags.data]).toEqual([1, 0, 1]);
    expect(jsonData(flags.data, 'BOOL')).toEqual([true, false, true]);
    expect([...asFloat32(big.data)]).toEqual([2 ** 53, -7]);
  });

  it.each([
    ['INT64', 2 ** 53],
    ['INT64', 1.5],
    ['UINT8', 256],
    ['UINT8', -1],
    ['BOOL', 1],
    ['BOOL', 'true'],
  ] as const)('refuses a %s element %s', (datatype, x) => {
    const meta = { name: 'x', datatype, shape: [-1] };
    expect(() => readInput({ name: 'x', datatype, shape: [1], data: [x] }, meta)).toThrow(`is not ${datatype}`);
  });
});
