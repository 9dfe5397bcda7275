/**
 * Turns a drawing into the input MNIST models expect, the way MNIST itself was made:
 * the ink's bounding box is scaled (keeping its aspect ratio, with area averaging for
 * anti-aliasing) to fit a 20×20 box, then placed in a 28×28 field so that its centre of
 * mass sits at the centre. Without this, a digit drawn small or off-centre looks nothing
 * like the training data and is misread.
 */

export const MNIST_SIDE = 28;
const FIT_BOX = 20;
/** Intensities at or below this count as background when finding the ink's bounding box. */
const INK_THRESHOLD = 0.05;

/** A grayscale image, row-major, values in [0, 1] (1 = ink). */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Returns 784 values in [0, 1] (row-major 28×28), or null when nothing is drawn.
 *
 * @example
 * const input = toMnistInput({ width: 280, height: 280, data: inkFromCanvas(canvas) });
 * if (input) await client.predict(input);
 */
export function toMnistInput(image: GrayImage): Float32Array | null {
  const box = inkBounds(image);
  if (!box) return null;
  const scale = FIT_BOX / Math.max(box.width, box.height);
  const width = Math.max(1, Math.round(box.width * scale));
  const height = Math.max(1, Math.round(box.height * scale));
  const fitted = resampleArea(image, box, width, height);
  const [cx, cy] = centreOfMass(fitted);
  const output = new Float32Array(MNIST_SIDE * MNIST_SIDE);
  const offsetX = Math.round(MNIST_SIDE / 2 - cx);
  const offsetY = Math.round(MNIST_SIDE / 2 - cy);
  for (let y = 0; y < height; y++) {
    const ty = y + offsetY;
    if (ty < 0 || ty >= MNIST_SIDE) continue;
    for (let x = 0; x < width; x++) {
      const tx = x + offsetX;
      if (tx < 0 || tx >= MNIST_SIDE) continue;
      output[ty * MNIST_SIDE + tx] = fitted.data[y * width + x] ?? 0;
    }
  }
  return output;
}

function inkBounds({ width, height, data }: GrayImage): Box | null {
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((data[y * width + x] ?? 0) <= INK_THRESHOLD) continue;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  return maxX < 0 ? null : { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

/** Scales `box` of `image` to `width`×`height`; each output pixel is the exact area-weighted mean under it. */
export function resampleArea(image: GrayImage, box: Box, width: number, height: number): GrayImage {
  const data = new Float32Array(width * height);
  const stepX = box.width / width;
  const stepY = box.height / height;
  for (let ty = 0; ty < height; ty++) {
    const y0 = box.y + ty * stepY;
    const y1 = y0 + stepY;
    for (let tx = 0; tx < width; tx++) {
      const x0 = box.x + tx * stepX;
      const x1 = x0 + stepX;
      let sum = 0;
      for (let sy = Math.floor(y0); sy < Math.ceil(y1); sy++) {
        const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
        for (let sx = Math.floor(x0); sx < Math.ceil(x1); sx++) {
          const wx = Math.min(x1, sx + 1) - Math.max(x0, sx);
          sum += wx * wy * (image.data[sy * image.width + sx] ?? 0);
        }
      }
      data[ty * width + tx] = Math.min(1, sum / (stepX * stepY));
    }
  }
  return { width, height, data };
}

/** Centre of mass in pixel-centre coordinates (a lone pixel at column 0 has cx = 0.5). */
function centreOfMass({ width, height, data }: GrayImage): [number, number] {
  let mass = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = data[y * width + x] ?? 0;
      mass += value;
      sx += value * (x + 0.5);
      sy += value * (y + 0.5);
    }
  }
  return mass > 0 ? [sx / mass, sy / mass] : [width / 2, height / 2];
}
