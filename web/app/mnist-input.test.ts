import { describe, expect, it } from 'vitest';
import { type GrayImage, MNIST_SIDE, resampleArea, toMnistInput } from './mnist-input.ts';

function blank(side: number): GrayImage {
  return { width: side, height: side, data: new Float32Array(side * side) };
}

function fill(image: GrayImage, x0: number, y0: number, x1: number, y1: number): void {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) image.data[y * image.width + x] = 1;
}

function bounds(pixels: Float32Array): { minX: number; maxX: number; minY: number; maxY: number } {
  const b = { minX: MNIST_SIDE, maxX: -1, minY: MNIST_SIDE, maxY: -1 };
  pixels.forEach((p, i) => {
    if (p <= 0) return;
    const x = i % MNIST_SIDE;
    const y = Math.floor(i / MNIST_SIDE);
    b.minX = Math.min(b.minX, x);
    b.maxX = Math.max(b.maxX, x);
    b.minY = Math.min(b.minY, y);
    b.maxY = Math.max(b.maxY, y);
  });
  return b;
}

describe('toMnistInput', () => {
  it('returns null for an empty pad', () => {
    expect(toMnistInput(blank(280))).toBeNull();
  });

  it('fits a small off-centre stroke into the 20-pixel box, centred by mass', () => {
    const pad = blank(280);
    fill(pad, 10, 10, 30, 90); // a thin vertical bar in the top-left corner, 20×80
    const input = toMnistInput(pad);
    if (!input) throw new Error('no input');
    const { minX, maxX, minY, maxY } = bounds(input);
    expect(maxY - minY + 1).toBe(20);
    expect(maxX - minX + 1).toBe(5);
    expect((minY + maxY + 1) / 2).toBe(14);
    expect(Math.abs((minX + maxX + 1) / 2 - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...input)).toBeLessThanOrEqual(1);
  });

  it('shifts a lopsided shape so its centre of mass, not its box, is central', () => {
    const pad = blank(280);
    fill(pad, 40, 40, 240, 60); // a heavy top bar
    fill(pad, 130, 60, 150, 240); // a thin stem: a "T"
    const input = toMnistInput(pad);
    if (!input) throw new Error('no input');
    let mass = 0;
    let my = 0;
    input.forEach((p, i) => {
      mass += p;
      my += p * (Math.floor(i / MNIST_SIDE) + 0.5);
    });
    expect(Math.abs(my / mass - 14)).toBeLessThanOrEqual(0.5);
  });
});

describe('resampleArea', () => {
  it('gets a 28×28 image back exactly from its 10× nearest-neighbour enlargement', () => {
    const small = blank(MNIST_SIDE);
    small.data.forEach((_, i) => {
      small.data[i] = ((i * 37) % 256) / 255;
    });
    const big = blank(280);
    big.data.forEach((_, i) => {
      const x = Math.floor((i % 280) / 10);
      const y = Math.floor(Math.floor(i / 280) / 10);
      big.data[i] = small.data[y * MNIST_SIDE + x] ?? 0;
    });
    const back = resampleArea(big, { x: 0, y: 0, width: 280, height: 280 }, MNIST_SIDE, MNIST_SIDE);
    back.data.forEach((p, i) => {
      expect(p).toBeCloseTo(small.data[i] ?? -1, 5);
    });
  });
});
