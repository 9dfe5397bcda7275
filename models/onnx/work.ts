import type { OnnxGraph, OnnxNodeInfo } from './read.ts';
import { broadcast, checked, int, type Known, numbers, type Rule, SHAPE_RULES, size, valid } from './shapes.ts';

// One example's inference work on an ONNX model, in the units edge/src/infer/cost.ts counts for
// tfjs-layers models (about one multiply-add each), so both kinds of model share one budget:
// per node, its multiply-adds (Conv, ConvTranspose, Gemm, MatMul) plus its output elements,
// from shapes inferred statically with batch 1.

export interface OnnxWork {
  perExample: number;
  /** ops whose output shape could not be inferred, so their work is underestimated */
  unknownOps: string[];
}

const text = (node: OnnxNodeInfo, name: string): string => {
  const value = node.attributes[name];
  return value && 's' in value ? value.s : 'NOTSET';
};

/** The spatial output sizes of a Conv/pool window over NCHW `x` (or of a ConvTranspose, `transposed`). */
function spatial(node: OnnxNodeInfo, x: number[], kernel: number[], transposed = false): number[] | undefined {
  const n = kernel.length;
  if (x.length !== n + 2) return undefined;
  const strides = numbers(node, 'strides') ?? [];
  const dilations = numbers(node, 'dilations') ?? [];
  const pads = numbers(node, 'pads') ?? [];
  const extra = numbers(node, 'output_padding') ?? [];
  const autoPad = text(node, 'auto_pad');
  const round = int(node, 'ceil_mode', 0) === 1 ? Math.ceil : Math.floor;
  return x.slice(2).map((d, i) => {
    const stride = strides[i] ?? 1;
    const span = ((kernel[i] ?? 1) - 1) * (dilations[i] ?? 1) + 1;
    const padding = autoPad === 'NOTSET' ? (pads[i] ?? 0) + (pads[i + n] ?? 0) : 0;
    if (transposed)
      return autoPad.startsWith('SAME') ? d * stride : stride * (d - 1) + (extra[i] ?? 0) + span - padding;
    return autoPad.startsWith('SAME') ? Math.ceil(d / stride) : round((d + padding - span) / stride) + 1;
  });
}

/** Conv: W is [M, C/group, k…]. */
const conv: Rule = (node, [x, w]) => {
  if (!x || !w) return undefined;
  const out = spatial(node, x.shape, numbers(node, 'kernel_shape') ?? w.shape.slice(2));
  return out && checked([x.shape[0], w.shape[0], ...out]);
};

/** ConvTranspose: W is [C, M/group, k…]; output_shape, when given, wins. */
const convTranspose: Rule = (node, [x, w]) => {
  if (!x || !w) return undefined;
  const kernel = numbers(node, 'kernel_shape') ?? w.shape.slice(2);
  const out = numbers(node, 'output_shape')?.slice(-kernel.length) ?? spatial(node, x.shape, kernel, true);
  return out && checked([x.shape[0], (w.shape[1] ?? Number.NaN) * int(node, 'group', 1), ...out]);
};

const pool: Rule = (node, [x]) => {
  const kernel = numbers(node, 'kernel_shape');
  const out = x && kernel && spatial(node, x.shape, kernel);
  const shape = out && checked([x.shape[0], x.shape[1], ...out])?.[0];
  // MaxPool's optional Indices output has the same shape.
  return shape && node.outputs.map(() => shape);
};

const globalPool: Rule = (_node, [x]) => x && checked(x.shape.map((d, i) => (i < 2 ? d : 1)));

const gemm: Rule = (node, [a, b]) => {
  if (a?.shape.length !== 2 || b?.shape.length !== 2) return undefined;
  const [m, k] = int(node, 'transA', 0) ? [...a.shape].reverse() : a.shape;
  const [k2, n] = int(node, 'transB', 0) ? [...b.shape].reverse() : b.shape;
  return k === k2 ? checked([m, n]) : undefined;
};

/** MatMul with numpy's rules: 1-D operands promoted then dropped, batch dims broadcast. */
const matMul: Rule = (_node, [a, b]) => {
  if (!a?.shape.length || !b?.shape.length) return undefined;
  const left = a.shape.length === 1 ? [1, ...a.shape] : a.shape;
  const right = b.shape.length === 1 ? [...b.shape, 1] : b.shape;
  const batch = broadcast([left.slice(0, -2), right.slice(0, -2)]);
  if (!batch || left.at(-1) !== right.at(-2)) return undefined;
  const rows = a.shape.length > 1 ? [left.at(-2)] : [];
  return checked([...batch, ...rows, ...(b.shape.length > 1 ? [right.at(-1)] : [])]);
};

const RULES: Record<string, Rule> = {
  ...SHAPE_RULES,
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Gemm: gemm,
  MatMul: matMul,
};

/** Multiply-adds of the ops with weights: each output element (each input one, transposed) sums this many products. */
function multiplyAdds(node: OnnxNodeInfo, [x, w]: (Known | undefined)[], output: Known | undefined): number {
  const out = output ? size(output.shape) : 0;
  const perWeight = size(w?.shape.slice(1) ?? []);
  if (node.opType === 'Conv') return out * perWeight;
  if (node.opType === 'ConvTranspose') return size(x?.shape ?? []) * perWeight;
  if (node.opType === 'Gemm') return out * ((int(node, 'transA', 0) ? x?.shape[0] : x?.shape[1]) ?? 0);
  if (node.opType === 'MatMul') return out * (x?.shape.at(-1) ?? 0);
  return 0;
}

/**
 * Static work units of one example's inference of `graph`: per node its multiply-adds plus its
 * output elements, shapes propagated from the graph inputs with batch 1; a symbolic or unknown
 * dim is 1 unless `inputShapes` gives that input's whole shape (batch 1 included).
 *
 * An op it cannot infer (unknown op, another domain's, or shapes it cannot work out) counts its
 * largest input's elements once and is listed in `unknownOps`; its outputs are guessed to have
 * that input's shape (right for the elementwise-looking ops that are most such ops), so the
 * work downstream still counts. A model too large to count (non-finite) gets MAX_SAFE_INTEGER.
 *
 * @example
 * onnxWork(readOnnx(bytes)); // { perExample: 716_232, unknownOps: [] } for the digits CNN (tfjs: 715,396)
 * onnxWork(graph, { image: [1, 3, 224, 224] }); // symbolic H, W given
 */
export function onnxWork(graph: OnnxGraph, inputShapes: Record<string, number[]> = {}): OnnxWork {
  const known = new Map<string, Known>();
  // Malformed dims (negative, fractional) leave a tensor unknown rather than make work negative.
  for (const tensor of graph.initializers) {
    if (valid(tensor.dims)) known.set(tensor.name, { shape: tensor.dims, values: tensor.values });
  }
  for (const input of graph.inputs) {
    const given = Object.hasOwn(inputShapes, input.name) ? inputShapes[input.name] : undefined;
    const shape = given ?? input.shape?.map((d) => (typeof d === 'number' ? d : 1));
    if (shape && valid(shape)) known.set(input.name, { shape });
  }
  const unknownOps = new Set<string>();
  let work = 0;
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => (name ? known.get(name) : undefined));
    const standard = (node.domain === '' || node.domain === 'ai.onnx') && Object.hasOwn(RULES, node.opType);
    const outputs = standard ? RULES[node.opType]?.(node, inputs) : undefined;
    if (outputs) {
      for (const [i, output] of outputs.entries()) {
        const name = node.outputs[i];
        if (!name) continue;
        known.set(name, output);
        work += size(output.shape);
      }
      work += multiplyAdds(node, inputs, outputs[0]);
      continue;
    }
    unknownOps.add(node.domain ? `${node.domain}.${node.opType}` : node.opType);
    const largest = inputs.reduce<Known | undefined>(
      (best, k) => (k && (!best || size(k.shape) > size(best.shape)) ? k : best),
      undefined,
    );
    if (!largest) continue;
    work += size(largest.shape);
    for (const name of node.outputs) known.set(name, { shape: largest.shape });
  }
  return {
    perExample: Number.isFinite(work) ? Math.max(1, Math.ceil(work)) : Number.MAX_SAFE_INTEGER,
    unknownOps: [...unknownOps],
  };
}
