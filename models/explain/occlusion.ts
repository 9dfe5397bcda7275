import type { Tensor } from '../../protocol/oip-tensor.ts';
import {
  checkBatch,
  type Explanation,
  type FloatBatch,
  intOption,
  invalid,
  resolveTargets,
  type TargetOption,
} from './common.ts';

/** Most rows per `run` call when the caller sets none. */
const DEFAULT_BATCH = 256;
const MAX_BATCH = 4096;

/**
 * Runs a model on a batch and returns its output, [rows, classes] flat: any runtime (tfjs, ONNX
 * Runtime) behind one function. May answer synchronously.
 */
export type RunBatch = (batch: FloatBatch) => Promise<ArrayLike<number>> | ArrayLike<number>;

/** A size over [height, width], or one number for both. */
export type Size2 = number | readonly [number, number];

export interface OcclusionOptions {
  /**
   * What is hidden at once: for images [N, H, W, C] a patch (default 4×4, every channel), for
   * flat inputs [N, D] a window of features (default 1).
   */
  patch?: Size2;
  /** Step between patches, at most the patch (default the patch); smaller overlaps them. */
  stride?: Size2;
  /** Axis order of image inputs: channels last [N, H, W, C] (default, as tfjs) or first [N, C, H, W]. */
  layout?: 'nhwc' | 'nchw';
  /** The value hidden elements take (default 0). */
  baseline?: number;
  /** Output index explained, for all examples or per example; default each example's top class. */
  target?: TargetOption;
  /** Most rows per `run` call; default 256. */
  batchSize?: number;
}

export interface OcclusionResult extends Explanation {
  method: 'occlusion';
  /** Patch and stride used, as [height, width] (height 1 for flat inputs). */
  patch: [number, number];
  stride: [number, number];
}

/** The input seen as [count, height, width, channels] and the patches laid over it. */
interface Grid {
  height: number;
  width: number;
  channels: number;
  /** Offset of cell (y · width + x) and of each channel within one example. */
  cellStep: number;
  channelStep: number;
  patch: [number, number];
  stride: [number, number];
  /** Top-left corner of each patch, [row, column]. */
  corners: [number, number][];
}

/**
 * Occlusion (Zeiler & Fergus, 2014), model-agnostic: hides one patch of each example at a time
 * (replaced by `baseline`) and attributes to each hidden element the drop in the target score,
 * f(x)[t] − f(x with the patch hidden)[t], averaged over the patches that cover it. Images
 * [N, H, W, C] (or [N, C, H, W] with `layout: 'nchw'`) are hidden patch by patch across all
 * channels, flat inputs [N, D] window by window. The occluded copies go to `run` in batches of
 * at most `batchSize` rows. Throws INVALID_INPUT for non-float inputs, other ranks, options out
 * of range, or a `run` whose output does not hold one row per input row.
 *
 * @example
 * const run = async ({ data, shape }) => (await session.run({ image: new ort.Tensor(data, shape) })).probs.data;
 * const result = await occlusion(run, { shape: [1, 28, 28, 1], data: pixels }, { patch: 4 });
 * result.attributions; // Float32Array(784): score lost when each pixel's patch is hidden
 */
export async function occlusion(
  run: RunBatch,
  input: Tensor,
  options: OcclusionOptions = {},
): Promise<OcclusionResult> {
  const batchSize = intOption(options.batchSize, 'batchSize', DEFAULT_BATCH, 1, MAX_BATCH);
  const { batch, count, size } = checkBatch(input);
  const grid = layout(batch.shape, options);
  const fill = options.baseline ?? 0;
  if (!Number.isFinite(fill)) throw invalid('options.baseline: must be a finite number');
  const exampleShape = batch.shape.slice(1);
  const runRows = async (rows: number, build: (row: number, out: Float32Array) => void): Promise<ArrayLike<number>> => {
    const data = new Float32Array(rows * size);
    for (let r = 0; r < rows; r++) build(r, data.subarray(r * size, (r + 1) * size));
    const out = await run({ shape: [rows, ...exampleShape], data });
    if (out.length === 0 || out.length % rows !== 0) {
      throw invalid(`model: answered ${out.length} values for ${rows} rows; explanations need [rows, classes]`);
    }
    return out;
  };

  const base = await collect(count, batchSize, (start, rows) =>
    runRows(rows, (r, out) => out.set(batch.data.subarray((start + r) * size, (start + r + 1) * size))),
  );
  const classes = base.length / count;
  const targets = resolveTargets(options.target, base, count, classes);
  const score = (e: number) => base[e * classes + (targets[e] as number)] as number;

  // Rows are (example, patch) pairs, example-major: each row is its example with one patch hidden.
  const patches = grid.corners.length;
  const drops = new Float64Array(count * size);
  const covered = new Uint32Array(size);
  for (const corner of grid.corners) {
    visit(grid, corner, (at) => {
      covered[at] = (covered[at] as number) + 1;
    });
  }
  for (let start = 0; start < count * patches; start += batchSize) {
    const rows = Math.min(batchSize, count * patches - start);
    const out = await runRows(rows, (r, row) => {
      const e = Math.floor((start + r) / patches);
      row.set(batch.data.subarray(e * size, (e + 1) * size));
      visit(grid, grid.corners[(start + r) % patches] as [number, number], (at) => {
        row[at] = fill;
      });
    });
    if (out.length !== rows * classes) throw invalid(`model: answered ${out.length / rows} classes, then ${classes}`);
    for (let r = 0; r < rows; r++) {
      const e = Math.floor((start + r) / patches);
      const drop = score(e) - (out[r * classes + (targets[e] as number)] as number);
      visit(grid, grid.corners[(start + r) % patches] as [number, number], (at) => {
        drops[e * size + at] = (drops[e * size + at] as number) + drop;
      });
    }
  }
  const attributions = new Float32Array(count * size);
  for (let i = 0; i < attributions.length; i++) {
    attributions[i] = (drops[i] as number) / (covered[i % size] as number);
  }
  const examples = targets.map((target, e) => {
    let sum = 0;
    for (let i = e * size; i < (e + 1) * size; i++) sum += attributions[i] as number;
    return { target, score: score(e), sum };
  });
  return { method: 'occlusion', shape: batch.shape, attributions, examples, patch: grid.patch, stride: grid.stride };
}

/** Runs `count` original rows in batches and concatenates the answers. */
async function collect(
  count: number,
  batchSize: number,
  runChunk: (start: number, rows: number) => Promise<ArrayLike<number>>,
): Promise<Float32Array> {
  const parts: ArrayLike<number>[] = [];
  for (let start = 0; start < count; start += batchSize)
    parts.push(await runChunk(start, Math.min(batchSize, count - start)));
  const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  if (out.length % count !== 0) throw invalid('model: answered a different number of classes per batch');
  return out;
}

/** Images [N, H, W, C] as they are; flat [N, D] as one row of D cells, so windows are 1×w patches. */
function layout(shape: number[], options: OcclusionOptions): Grid {
  const image = shape.length === 4;
  if (!image && shape.length !== 2) throw invalid(`input: occlusion takes [N, H, W, C] or [N, D]; got [${shape}]`);
  if (!image && (typeof options.patch === 'object' || typeof options.stride === 'object')) {
    throw invalid('options.patch, options.stride: flat inputs take one number each');
  }
  const first = options.layout === 'nchw';
  if (options.layout !== undefined && !first && options.layout !== 'nhwc') {
    throw invalid(`options.layout: ${options.layout} is neither nhwc nor nchw`);
  }
  const [a, b, c] = image ? (shape.slice(1) as [number, number, number]) : [1, shape[1] as number, 1];
  const [height, width, channels] = first && image ? [b, c, a] : [a, b, c];
  const patch = size2(options.patch, 'patch', image ? [4, 4] : [1, 1], [height, width]);
  const stride = size2(options.stride, 'stride', patch, patch);
  const corners: [number, number][] = [];
  for (let y = 0; y < height; y += stride[0]) for (let x = 0; x < width; x += stride[1]) corners.push([y, x]);
  const [cellStep, channelStep] = first ? [1, height * width] : [channels, 1];
  return { height, width, channels, cellStep, channelStep, patch, stride, corners };
}

/**
 * A [height, width] size: a number covers both image axes (a flat input's window: width only,
 * height 1), each in [1, max], its default clipped to `max`.
 */
function size2(value: Size2 | undefined, name: string, fallback: [number, number], max: [number, number]) {
  const [h, w] = typeof value === 'object' ? value : max[0] === 1 ? [1, value] : [value, value];
  return [
    intOption(h, name, Math.min(fallback[0], max[0]), 1, max[0]),
    intOption(w, name, Math.min(fallback[1], max[1]), 1, max[1]),
  ] as [number, number];
}

/** Calls `element` with the offset in one example of every element a patch covers: all channels, clipped at the edges. */
function visit(grid: Grid, [top, left]: [number, number], element: (offset: number) => void): void {
  const bottom = Math.min(top + grid.patch[0], grid.height);
  const right = Math.min(left + grid.patch[1], grid.width);
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      const cell = (y * grid.width + x) * grid.cellStep;
      for (let c = 0; c < grid.channels; c++) element(cell + c * grid.channelStep);
    }
  }
}
