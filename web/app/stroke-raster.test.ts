import { describe, expect, it } from 'vitest';
import { toMnistInput } from './mnist-input.ts';
import { rasterizeStrokes } from './stroke-raster.ts';

const at = (image: { width: number; data: Float32Array }, x: number, y: number) => image.data[y * image.width + x];

describe('rasterizeStrokes', () => {
  it('paints a thick line with round caps and soft edges', () => {
    const image = rasterizeStrokes(
      [
        [
          [140.25, 50],
          [140.25, 230],
        ],
      ],
      280,
      280,
      11,
    );
    expect(at(image, 140, 140)).toBe(1);
    expect(at(image, 140, 42)).toBe(1); // inside the round cap above the start
    expect(at(image, 140, 30)).toBe(0);
    expect(at(image, 160, 140)).toBe(0);
    const edge = at(image, 151, 140) ?? 0;
    expect(edge).toBeGreaterThan(0);
    expect(edge).toBeLessThan(1);
  });

  it('paints a lone point as a dot and nothing for an empty stroke', () => {
    const image = rasterizeStrokes([[[20, 20]], []], 40, 40, 5);
    expect(at(image, 20, 20)).toBe(1);
    expect(at(image, 20, 27)).toBe(0);
  });

  it('turns a drawn "1" into an MNIST-sized, centred stroke', () => {
    const input = toMnistInput(
      rasterizeStrokes(
        [
          [
            [60, 30],
            [62, 130],
          ],
        ],
        280,
        280,
        11,
      ),
    );
    if (!input) throw new Error('no input');
    const rows = new Set<number>();
    input.forEach((p, i) => {
      if (p > 0) rows.add(Math.floor(i / 28));
    });
    expect(Math.min(...rows)).toBe(4);
    expect(Math.max(...rows)).toBe(23);
  });
});
