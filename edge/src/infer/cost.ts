import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { chunkRows } from './chunks.ts';

// What an infer request costs, in work units: about one multiply-add of the model's forward
// pass each, estimated from its layers. The cost is checked against a budget per request before
// the model runs and charged to the caller's buckets (http/rate-limit.ts); the work itself is
// cut into chunks between which the isolate serves other requests (chunks.ts).

/**
 * Most work one request may cost, unless EDGELOOP_WORK_PER_REQUEST says otherwise: 1 G. One
 * digit explained at the most steps (256: 0.74 G) or the largest batch of digits (1,337: 0.96 G)
 * fits; 16 digits explained at 256 steps (11.8 G) do not. ≈ 3 s of tfjs-cpu on the bench
 * machine (~360 M units/s forward, less for gradients), served in chunks.
 */
export const DEFAULT_WORK_PER_REQUEST = 1_000_000_000;

/** A gradient (forward and backward pass) costs about four forward passes on tfjs-cpu (measured on digits). */
const GRADIENT_PASSES = 4;

/** Occlusion's default patch side on images (models/explain/occlusion.ts). */
const OCCLUSION_PATCH = 4;

const elements = (shape: readonly (number | null)[]) => shape.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1);

/** A layer's output shapes; none for a layer shared between inputs of different shapes (tfjs throws). */
function outputShapes(layer: LayersModel['layers'][number]): (number | null)[][] {
  try {
    const shapes = layer.outputShape;
    return (Array.isArray(shapes[0]) ? shapes : [shapes]) as (number | null)[][];
  } catch {
    return [];
  }
}

/**
 * Work units of one example's forward pass: per layer, its parameters times the positions they
 * are applied at (a convolution's output pixels, 1 for a dense layer) plus its output elements.
 * Unknown sizes (null past the batch axis) count 1; recurrent layers count one step; a layer
 * shared between inputs of different shapes counts its parameters once.
 *
 * @example
 * forwardWork(digits); // 715,396 for the demo CNN (28×28×1 → 10)
 */
export function forwardWork(model: LayersModel): number {
  let work = 0;
  for (const layer of model.layers) {
    const outputs = outputShapes(layer);
    const [first = [null]] = outputs;
    const positions = elements(first) / (first.length > 1 ? (first.at(-1) ?? 1) : 1);
    work += layer.countParams() * positions + outputs.reduce((n, shape) => n + elements(shape), 0);
  }
  return Math.max(1, Math.ceil(work));
}

/** How a request is explained: integrated gradients with its steps, or occlusion over an input shape. */
export type ExplainWork = { method: 'integrated-gradients'; steps: number } | { method: 'occlusion'; shape: number[] };

/** Forward-pass equivalents of explaining one example, besides its inference. */
function explainPasses(explain: ExplainWork): number {
  if (explain.method === 'integrated-gradients') return 2 + GRADIENT_PASSES * (explain.steps + 1);
  const [, height = 1, width = 1] = explain.shape;
  // One run per patch (images [N, H, W, C]) or per feature (flat [N, D]), plus the unoccluded one.
  const patches =
    explain.shape.length === 4 ? Math.ceil(height / OCCLUSION_PATCH) * Math.ceil(width / OCCLUSION_PATCH) : height;
  return 1 + patches;
}

/** A request's work: examples × passes × the model's work per example pass. */
export interface Work {
  examples: number;
  passes: number;
  perExample: number;
  total: number;
}

/**
 * The work of inferring `examples` examples and, if asked, explaining them.
 *
 * @example
 * requestWork(715_396, 16, { method: 'integrated-gradients', steps: 256 }).total; // 11.8 G
 */
export function requestWork(perExample: number, examples: number, explain: ExplainWork | null): Work {
  const passes = 1 + (explain ? explainPasses(explain) : 0);
  return { examples, passes, perExample, total: examples * passes * perExample };
}

/**
 * Work units as people read them.
 *
 * @example
 * units(11_807_000_000); // "11.8 G"
 */
export function units(n: number): string {
  const [scale, suffix] = n >= 1e9 ? [1e9, ' G'] : n >= 1e6 ? [1e6, ' M'] : n >= 1e3 ? [1e3, ' k'] : [1, ''];
  return `${Number((n / scale).toPrecision(3))}${suffix}`;
}

/** The most work one request may cost: EDGELOOP_WORK_PER_REQUEST, else the default. */
export function workPerRequest(env: Env): number {
  const n = Number(env.EDGELOOP_WORK_PER_REQUEST);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_WORK_PER_REQUEST;
}

/** What would fit the budget: fewer examples and, for integrated gradients, fewer steps. */
function howToFit(work: Work, budget: number, explain: ExplainWork | null): string {
  const examples = Math.floor(budget / (work.passes * work.perExample));
  const fewer = examples >= 1 ? `send at most ${examples} example${examples === 1 ? '' : 's'} per request` : '';
  if (explain?.method === 'integrated-gradients') {
    const steps = Math.floor((budget / (work.examples * work.perExample) - 3) / GRADIENT_PASSES - 1);
    const fewerSteps = steps >= 1 ? `set explain_steps to at most ${steps} for ${work.examples}` : '';
    const both = [fewer, fewerSteps].filter(Boolean).join(', or ');
    if (both) return both;
  } else if (fewer) {
    return fewer;
  }
  return 'one example of this model costs more than a request may: run it on the device';
}

/**
 * Throws 422 TOO_COSTLY, before anything runs, when a request's work is over `budget`: the
 * message gives the cost, the budget and how to fit.
 *
 * @example
 * checkBudget(info, requestWork(715_396, 16, null), workPerRequest(env), null); // fits: returns
 */
export function checkBudget(info: VersionInfo, work: Work, budget: number, explain: ExplainWork | null): void {
  if (work.total <= budget) return;
  throw new ApiError(
    422,
    ErrorCode.TOO_COSTLY,
    `${info.model} v${info.version}: this request costs ${units(work.total)} work units ` +
      `(${work.examples} example${work.examples === 1 ? '' : 's'} × ${work.passes} passes × ${units(work.perExample)} per pass); ` +
      `one request may cost at most ${units(budget)}: ${howToFit(work, budget, explain)}`,
  );
}

/**
 * Integrated gradients' path points per gradient call: a chunk's worth, a gradient costing
 * GRADIENT_PASSES forward passes.
 *
 * @example
 * gradientRows(715_396); // 1 digit's point per call
 */
export function gradientRows(perExample: number): number {
  return chunkRows(GRADIENT_PASSES * perExample);
}
