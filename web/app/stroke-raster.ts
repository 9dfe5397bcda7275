import type { GrayImage } from './mnist-input.ts';

export type Point = readonly [x: number, y: number];

/**
 * Renders round-capped strokes of radius `radius` into a grayscale image, with one pixel of
 * anti-aliasing at the edges. The model's input is computed from these strokes rather than
 * read back from the visible canvas, whose pixels Chromium may drop (context loss).
 *
 * @example
 * const image = rasterizeStrokes([[[140, 50], [140, 230]]], 280, 280, 11); // a "1"
 */
export function rasterizeStrokes(
  strokes: readonly (readonly Point[])[],
  width: number,
  height: number,
  radius: number,
): GrayImage {
  const data = new Float32Array(width * height);
  for (const stroke of strokes) {
    const first = stroke[0];
    if (!first) continue;
    // A lone point is a segment of length zero: a dot.
    let previous = first;
    for (const point of stroke.length > 1 ? stroke.slice(1) : stroke) {
      paintSegment(data, width, height, previous, point, radius);
      previous = point;
    }
  }
  return { width, height, data };
}

function paintSegment(data: Float32Array, width: number, height: number, a: Point, b: Point, radius: number): void {
  const [ax, ay] = a;
  const [bx, by] = b;
  const reach = radius + 1;
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + reach));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(ay, by) + reach));
  const dx = bx - ax;
  const dy = by - ay;
  const lengthSquared = dx * dx + dy * dy;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      // Distance from the pixel's centre to the segment.
      const px = x + 0.5 - ax;
      const py = y + 0.5 - ay;
      const t = lengthSquared > 0 ? Math.max(0, Math.min(1, (px * dx + py * dy) / lengthSquared)) : 0;
      const distance = Math.hypot(px - t * dx, py - t * dy);
      const coverage = Math.max(0, Math.min(1, radius + 0.5 - distance));
      const index = y * width + x;
      if (coverage > (data[index] ?? 0)) data[index] = coverage;
    }
  }
}
