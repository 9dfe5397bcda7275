import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { toModelInput } from './input.ts';

const refusal = (input: unknown): EdgeloopError | undefined => {
  try {
    toModelInput(input);
  } catch (e) {
    return e as EdgeloopError;
  }
  return undefined;
};

describe('toModelInput', () => {
  it('copies typed arrays with their element type, and transfers only the copies', () => {
    const ids = Int32Array.of(3, 4);
    const { input, transfer } = toModelInput(ids);
    expect(input).toBeInstanceOf(Int32Array);
    expect(Array.from(input as Int32Array)).toEqual([3, 4]);
    expect(transfer).toEqual([(input as Int32Array).buffer]);
    expect(transfer[0]).not.toBe(ids.buffer);
    // Transferring the copy leaves the caller's array intact.
    structuredClone(input, { transfer });
    expect((input as Int32Array).length).toBe(0);
    expect(Array.from(ids)).toEqual([3, 4]);
    // A view into a bigger buffer sends only its own values.
    const view = new Float32Array([9, 1, 2, 9]).subarray(1, 3);
    expect(Array.from(toModelInput(view).input as Float32Array)).toEqual([1, 2]);
    expect(toModelInput(BigInt64Array.of(5n)).input).toEqual(BigInt64Array.of(5n));
  });

  it('reads nested rows row-major with their shape; a flat array is values alone', () => {
    expect(toModelInput([0, 1, 0.5]).input).toEqual(Float32Array.of(0, 1, 0.5));
    expect(
      toModelInput([
        [0, 1],
        [0.5, 0.25],
      ]).input,
    ).toEqual({ data: Float32Array.of(0, 1, 0.5, 0.25), shape: [2, 2] });
    expect(toModelInput([Float64Array.of(1, 2), Uint8Array.of(3, 4)]).input).toEqual({
      data: Float32Array.of(1, 2, 3, 4),
      shape: [2, 2],
    });
  });

  it('takes inputs by name, each its own buffer', () => {
    const { input, transfer } = toModelInput({ x: [[1, 2]], ids: Int32Array.of(7) });
    expect(input).toEqual({ x: { data: Float32Array.of(1, 2), shape: [1, 2] }, ids: Int32Array.of(7) });
    expect(transfer).toHaveLength(2);
  });

  it('refuses what is not a finite numeric tensor with INVALID_INPUT naming where', () => {
    const cases: [unknown, RegExp][] = [
      ['0.5', /input: expected/],
      [
        [
          [0, 1],
          [0, 'x'],
        ],
        /input\[1\]\[1\]/,
      ],
      [[0, Number.NaN], /input\[1\]: NaN is not finite/],
      // Ragged rows have no shape: which values belong to which row would be a guess.
      [[[[1], [2]], [Float64Array.of(3, 4)]], /rows differ in length/],
      [[BigInt64Array.of(1n)], /BigInt/],
      [new BigUint64Array(2), /BigUint64Array is not a model input/],
      [new DataView(new ArrayBuffer(4)), /input: expected/],
      [[], /no values/],
      [{}, /name at least one input/],
      [{ x: 'a' }, /input\.x: expected/],
      [null, /input: expected/],
    ];
    for (const [input, message] of cases) {
      const error = refusal(input);
      expect(error, String(message)).toBeInstanceOf(EdgeloopError);
      expect(error?.code).toBe('INVALID_INPUT');
      expect(error?.message).toMatch(message);
    }
  });
});
