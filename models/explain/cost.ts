import type { LayersModel } from '@tensorflow/tfjs-layers';

// What running or explaining a model costs, in work units: about one multiply-add of the
// model's forward pass each, estimated from its layers. The edge checks a request against its
// budget with these (edge/src/infer/cost.ts), the browser an explanation against its own.

/** A gradient (forward and backward pass) costs about four forward passes on tfjs-cpu (measured on digits). */
export const GRADIENT_PASSES = 4;

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

/**
 * Forward-pass equivalents of explaining one example, besides its inference.
 *
 * @example
 * explainPasses({ method: "integrated-gradients", steps: 100 }); // 406
 */
export function explainPasses(explain: ExplainWork): number {
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
