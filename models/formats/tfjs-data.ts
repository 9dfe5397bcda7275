import { EdgeloopError } from '../../protocol/errors.ts';
import type { TensorDtype } from '../../protocol/manifest.ts';
import type { TensorData } from '../../protocol/oip-tensor.ts';

// tfjs has three element types for model inputs and outputs: float32, int32 and bool. A
// manifest's dtypes map onto them here, once, for the edge and the browser worker alike: int64
// and uint8 travel as int32 (TensorFlow's converter stores int64 as int32 too), bool as bool.

/** The elements and dtype to build a tfjs tensor from. */
export interface TfjsValues {
  values: Float32Array | Int32Array | Uint8Array;
  dtype: 'float32' | 'int32' | 'bool';
}

/**
 * A tensor's elements as tfjs takes them for an input of `dtype`. INVALID_INPUT when an int64
 * element does not fit tfjs's int32.
 *
 * @example
 * toTfjs(BigInt64Array.of(3n), 'int64'); // { values: Int32Array [3], dtype: 'int32' }
 */
export function toTfjs(data: TensorData, dtype: TensorDtype, what = 'input'): TfjsValues {
  switch (dtype) {
    case 'float32':
      return { values: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>), dtype };
    case 'bool':
      return { values: data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>), dtype };
    case 'int64': {
      const values = new Int32Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const x = Number(data[i]);
        if (x < -(2 ** 31) || x >= 2 ** 31) {
          throw new EdgeloopError(
            'INVALID_INPUT',
            `${what}: element ${i} (${x}) is past tfjs's int32, which carries int64 here`,
          );
        }
        values[i] = x;
      }
      return { values, dtype: 'int32' };
    }
    default:
      return { values: data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>), dtype: 'int32' };
  }
}
