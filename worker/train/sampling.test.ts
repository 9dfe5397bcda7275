import { describe, expect, it } from 'vitest';
import { bilinearSampling, resample } from './sampling.ts';

describe('bilinearSampling', () => {
  const image = Float32Array.from({ length: 16 }, (_, i) => i); // 4×4, value = index

  it('samples every pixel from itself under the identity map', () => {
    const out = new Float32Array(16);
    resample(bilinearSampling([1, 0, 0, 0, 1, 0], 4, 4), image, out, 1);
    expect(Array.from(out)).toEqual(Array.from(image));
  });

  it('interpolates half a pixel to the right, and replicates the edge past it', () => {
    const out = new Float32Array(16);
    resample(bilinearSampling([1, 0, 0.5, 0, 1, 0], 4, 4), image, out, 1);
    expect(Array.from(out.subarray(0, 4))).toEqual([0.5, 1.5, 2.5, 3]);
  });

  it('moves every channel of a pixel together', () => {
    const rgb = Float32Array.from({ length: 48 }, (_, i) => i);
    const out = new Float32Array(48);
    // x_in = y, y_in = x: the transpose.
    resample(bilinearSampling([0, 1, 0, 1, 0, 0], 4, 4), rgb, out, 3);
    expect(Array.from(out.subarray(3, 6))).toEqual(Array.from(rgb.subarray(12, 15)));
  });
});
