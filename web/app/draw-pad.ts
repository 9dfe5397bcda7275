import { EdgeloopError } from '../../protocol/errors.ts';
import { MNIST_SIDE, toMnistInput } from './mnist-input.ts';
import { type Point, rasterizeStrokes } from './stroke-raster.ts';

/** Stroke width as a share of the pad: at MNIST scale this gives the 2–3 px strokes it was written with. */
const STROKE_SHARE = 0.08;

export interface DrawPad {
  /** The model input for what is on the pad (784 values in [0, 1]), or null when it is blank. */
  input(): Float32Array | null;
  clear(): void;
  /**
   * Shows an already MNIST-formatted 28×28 digit on the pad, scaled up, and makes exactly
   * those pixels the next input. Re-deriving them from the canvas would re-fit and re-centre
   * a digit that is already fitted and centred (and quantise it to 8 bits), so the test
   * hook would not predict what it injected; drawing or clearing drops the injected input.
   */
  inject(pixels: readonly number[]): void;
}

/**
 * Makes `canvas` a drawing pad for one digit: white ink on black, with mouse, touch or pen.
 * The pad keeps its strokes, not just pixels: Chromium drops a 2D canvas's contents when its
 * GPU process restarts (seen while the worker tries WebGPU on SwiftShader), so the input is
 * rasterised from the strokes and the canvas, only a view, is repainted on `contextrestored`.
 *
 * @example
 * const pad = createDrawPad(document.querySelector('canvas')!);
 * const input = pad.input(); // Float32Array(784) or null
 */
export function createDrawPad(canvas: HTMLCanvasElement): DrawPad {
  const context = canvas.getContext('2d');
  if (!context) throw new EdgeloopError('INTERNAL', 'this browser gives no 2D canvas context');
  const ctx = context;
  const strokes: Point[][] = [];
  const radius = (canvas.width * STROKE_SHARE) / 2;
  let injected: Float32Array | null = null;
  let current: Point[] | null = null;

  function paintBackground() {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }

  function paintStroke(points: readonly Point[]) {
    const [first, ...rest] = points;
    if (!first) return;
    ctx.lineWidth = radius * 2;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    ctx.arc(first[0], first[1], radius, 0, Math.PI * 2);
    ctx.fill();
    ctx.beginPath();
    ctx.moveTo(...first);
    for (const point of rest) ctx.lineTo(...point);
    ctx.stroke();
  }

  function paintInjected(pixels: Float32Array) {
    const small = document.createElement('canvas');
    small.width = MNIST_SIDE;
    small.height = MNIST_SIDE;
    const image = new ImageData(MNIST_SIDE, MNIST_SIDE);
    pixels.forEach((p, i) => {
      const level = Math.round(p * 255);
      image.data.set([level, level, level, 255], i * 4);
    });
    small.getContext('2d')?.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function repaint() {
    paintBackground();
    if (injected) paintInjected(injected);
    for (const stroke of strokes) paintStroke(stroke);
  }

  function clear() {
    injected = null;
    strokes.length = 0;
    current = null;
    paintBackground();
  }

  function point(event: PointerEvent): Point {
    const rect = canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * canvas.width) / rect.width,
      ((event.clientY - rect.top) * canvas.height) / rect.height,
    ];
  }

  canvas.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    if (injected) clear();
    current = [point(event)];
    strokes.push(current);
    paintStroke(current);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!current) return;
    const from = current.at(-1);
    // Coalesced events keep fast strokes smooth instead of polygonal.
    const added = (event.getCoalescedEvents?.() ?? [event]).map(point);
    current.push(...added);
    if (from) paintStroke([from, ...added]);
  });
  const stop = () => {
    current = null;
  };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);
  canvas.addEventListener('lostpointercapture', stop);
  canvas.addEventListener('contextrestored', repaint);
  clear();

  return {
    input() {
      if (injected) return injected.slice();
      return toMnistInput(rasterizeStrokes(strokes, canvas.width, canvas.height, radius));
    },
    clear,
    inject(pixels) {
      const size = MNIST_SIDE * MNIST_SIDE;
      if (pixels.length !== size || !pixels.every((p) => typeof p === 'number' && p >= 0 && p <= 1)) {
        throw new EdgeloopError('INVALID_INPUT', `injectDigit: expected ${size} numbers in [0, 1]`);
      }
      clear();
      injected = Float32Array.from(pixels);
      paintInjected(injected);
    },
  };
}
