import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { toModelInput } from './input.ts';

describe('toModelInput', () => {
  it('takes numeric typed arrays and nested rows, row-major', () => {
    expect(Array.from(toModelInput(new Uint8Array([0, 255])))).toEqual([0, 255]);
    expect(
      Array.from(
        toModelInput([
          [0, 1],
          [0.5, 0.25],
        ]),
      ),
    ).toEqual([0, 1, 0.5, 0.25]);
    expect(Array.from(toModelInput([[[1], [2]], [new Float64Array([3, 4])]]))).toEqual([1, 2, 3, 4]);
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
      [new BigInt64Array(2), /BigInt/],
      [new DataView(new ArrayBuffer(4)), /input: expected/],
      [[], /no values/],
    ];
    for (const [input, message] of cases) {
      const error = (() => {
        try {
          toModelInput(input);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(EdgeloopError);
      expect((error as EdgeloopError).code).toBe('INVALID_INPUT');
      expect((error as EdgeloopError).message).toMatch(message);
    }
  });
});
