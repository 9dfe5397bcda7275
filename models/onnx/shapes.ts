import type { OnnxNodeInfo } from './read.ts';

// Static shape inference, with batch 1, for the ONNX ops that move or combine data without
// weights of their own (elementwise, reshaping, slicing, reducing); work.ts adds the ops with
// weights and windows. Small tensors' values (shapes, axes, scales) travel along, so the
// Shape → Gather → Concat → Reshape chains that exporters write for dynamic shapes resolve.

/** What is known of a tensor: its shape and, for a tiny one (≤ 64 elements), maybe its values. */
export interface Known {
  shape: number[];
  values?: number[];
}

/** The outputs of `node` from its inputs (undefined: not known, or an omitted optional input); undefined: cannot tell. */
export type Rule = (node: OnnxNodeInfo, inputs: (Known | undefined)[]) => Known[] | undefined;

/**
 * Elements of a tensor of `shape` (1 for a scalar).
 *
 * @example
 * size([1, 3, 4]); // 12
 */
export const size = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/**
 * `node`'s int attribute `name`, else `fallback`.
 *
 * @example
 * int(node, 'axis', 1);
 */
export function int(node: OnnxNodeInfo, name: string, fallback: number): number {
  const value = node.attributes[name];
  return value && 'i' in value ? value.i : fallback;
}

/**
 * `node`'s ints or floats attribute `name`.
 *
 * @example
 * numbers(node, 'pads') ?? [0, 0, 0, 0];
 */
export function numbers(node: OnnxNodeInfo, name: string): number[] | undefined {
  const value = node.attributes[name];
  return value && 'ints' in value ? value.ints : value && 'floats' in value ? value.floats : undefined;
}

/** A possibly negative axis of a rank-`rank` tensor, from 0. */
const axisOf = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/**
 * Whether every dim is a natural number (no NaN from a missing dim, no fraction from a bad reshape).
 *
 * @example
 * valid([1, 2.5]); // false
 */
export const valid = (shape: readonly (number | undefined)[]): shape is number[] =>
  shape.every((d) => d !== undefined && Number.isInteger(d) && d >= 0);

/**
 * `shape` (with `values`) as a rule's one output, if valid.
 *
 * @example
 * checked([1, Number.NaN]); // undefined
 */
export const checked = (shape: (number | undefined)[], values?: number[]): Known[] | undefined =>
  valid(shape) ? [{ shape, values }] : undefined;

/**
 * numpy broadcasting of `shapes`, or undefined when they do not broadcast.
 *
 * @example
 * broadcast([[2, 1, 4], [3, 1]]); // [2, 3, 4]
 */
export function broadcast(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = shapes.reduce((r, s) => Math.max(r, s.length), 0);
  const out: number[] = [];
  for (let i = 0; i < rank; ++i) {
    let dim = 1;
    for (const shape of shapes) {
      const d = shape[shape.length - rank + i] ?? 1;
      if (d !== 1 && dim !== 1 && d !== dim) return undefined;
      if (d !== 1) dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** Elementwise arithmetic on values (integer division, as on the int64 shapes it meets). */
const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b),
};

const broadcasting: Rule = (node, inputs) => {
  const known = inputs.filter((k) => k !== undefined);
  const shape = known.length === inputs.length ? broadcast(known.map((k) => k.shape)) : undefined;
  if (!shape) return undefined;
  const op = ARITHMETIC[node.opType];
  const [a, b] = known.map((k) => k.values);
  const at = (v: number[], i: number) => (v.length === 1 ? v[0] : v[i]) ?? Number.NaN;
  const values =
    op && a && b && shape.length <= 1
      ? Array.from({ length: size(shape) }, (_, i) => op(at(a, i), at(b, i)))
      : undefined;
  return node.outputs.map(() => ({ shape, values }));
};

/** Ops whose output has the values of their input (Cast's rounding aside). */
const PASSING = new Set(['Identity', 'Cast', 'CastLike']);

const unary: Rule = (node, [x]) =>
  x && node.outputs.map(() => ({ shape: x.shape, values: PASSING.has(node.opType) ? x.values : undefined }));

const reshape: Rule = (node, [x, target]) => {
  const dims = target?.values ?? numbers(node, 'shape');
  if (!x || !dims) return undefined;
  const copy = int(node, 'allowzero', 0) === 0;
  const shape = dims.map((d, i) => (d === 0 && copy ? x.shape[i] : d));
  const known = shape.reduce<number>((n, d) => (d === -1 ? n : n * (d ?? Number.NaN)), 1);
  return checked(
    shape.map((d) => (d === -1 ? size(x.shape) / known : d)),
    x.values,
  );
};

const flatten: Rule = (node, [x]) => {
  if (!x) return undefined;
  const axis = axisOf(int(node, 'axis', 1), x.shape.length);
  return [{ shape: [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))] }];
};

const transpose: Rule = (node, [x]) => {
  if (!x) return undefined;
  const perm = numbers(node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  return checked(perm.map((p) => x.shape[p]));
};

const concat: Rule = (node, inputs) => {
  const parts = inputs.filter((k) => k !== undefined);
  const [first] = parts;
  if (!first || parts.length !== inputs.length) return undefined;
  const axis = axisOf(int(node, 'axis', 0), first.shape.length);
  const shape = first.shape.map((d, i) => (i === axis ? parts.reduce((n, p) => n + (p.shape[i] ?? Number.NaN), 0) : d));
  const values =
    first.shape.length === 1 && parts.every((p) => p.values) ? parts.flatMap((p) => p.values ?? []) : undefined;
  return checked(shape, values);
};

const squeeze: Rule = (node, [x, given]) => {
  if (!x) return undefined;
  const axes = (numbers(node, 'axes') ?? given?.values)?.map((a) => axisOf(a, x.shape.length));
  if (!axes && node.inputs[1]) return undefined;
  return [{ shape: x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)), values: x.values }];
};

const unsqueeze: Rule = (node, [x, given]) => {
  const added = numbers(node, 'axes') ?? given?.values;
  if (!x || !added) return undefined;
  const rank = x.shape.length + added.length;
  const axes = added.map((a) => axisOf(a, rank));
  const rest = [...x.shape];
  return checked(
    Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift())),
    x.values,
  );
};

const gather: Rule = (node, [x, indices]) => {
  if (!x || !indices) return undefined;
  const axis = axisOf(int(node, 'axis', 0), x.shape.length);
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const from = x.shape.length === 1 ? x.values : undefined;
  const values = from && indices.values?.map((i) => from[axisOf(i, from.length)] ?? Number.NaN);
  return checked(shape, values?.some(Number.isNaN) ? undefined : values);
};

/** Slice with constant starts/ends; else its input's shape, an upper bound. */
const slice: Rule = (node, [x, s, e, a, st]) => {
  if (!x) return undefined;
  const starts = numbers(node, 'starts') ?? s?.values;
  const ends = numbers(node, 'ends') ?? e?.values;
  if (!starts || !ends) return [{ shape: x.shape }];
  const axes = numbers(node, 'axes') ?? a?.values ?? starts.map((_, j) => j);
  const shape = [...x.shape];
  let values = x.shape.length === 1 ? x.values : undefined;
  for (const [j, start] of starts.entries()) {
    const axis = axisOf(axes[j] ?? j, shape.length);
    const dim = shape[axis];
    const step = st?.values?.[j] ?? 1;
    if (dim === undefined || step === 0) return undefined;
    const hi = step > 0 ? dim : dim - 1;
    const from = Math.min(Math.max(axisOf(start, dim), 0), hi);
    const to = Math.min(Math.max(axisOf(ends[j] ?? dim, dim), step > 0 ? 0 : -1), hi);
    const length = Math.max(0, Math.ceil((to - from) / step));
    shape[axis] = length;
    const old = values;
    values = old && Array.from({ length }, (_, i) => old[from + i * step] ?? Number.NaN);
  }
  return checked(shape, values);
};

const pad: Rule = (node, [x, p, , a]) => {
  const pads = numbers(node, 'pads') ?? p?.values;
  if (!x || !pads) return undefined;
  const axes = a?.values?.map((axis) => axisOf(axis, x.shape.length)) ?? x.shape.map((_, i) => i);
  const shape: (number | undefined)[] = [...x.shape];
  for (const [j, axis] of axes.entries()) {
    shape[axis] = (shape[axis] ?? Number.NaN) + (pads[j] ?? 0) + (pads[j + axes.length] ?? 0);
  }
  return checked(shape);
};

/** Reduce* (axes attribute or input) and ArgMax/ArgMin (one axis). */
const reduce: Rule = (node, [x, given]) => {
  if (!x) return undefined;
  const arg = node.opType.startsWith('Arg');
  const list = arg ? [int(node, 'axis', 0)] : (numbers(node, 'axes') ?? given?.values);
  if (!list && node.inputs[1]) return undefined;
  const all = int(node, 'noop_with_empty_axes', 0) === 0 ? x.shape.map((_, i) => i) : [];
  const axes = list?.length ? list.map((a) => axisOf(a, x.shape.length)) : all;
  const keep = int(node, 'keepdims', 1) === 1;
  return [{ shape: x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d])) }];
};

const shapeOf: Rule = (node, [x]) => {
  if (!x) return undefined;
  // Array slice clamps negative and out-of-range bounds as ONNX Shape's start/end do.
  const values = x.shape.slice(int(node, 'start', 0), node.attributes.end ? int(node, 'end', 0) : undefined);
  return [{ shape: [values.length], values }];
};

const constant: Rule = (node) => {
  const [value] = Object.values(node.attributes);
  if (!value) return undefined;
  if ('t' in value) return [{ shape: value.t.dims, values: value.t.values }];
  if ('f' in value || 'i' in value) return [{ shape: [], values: ['f' in value ? value.f : value.i] }];
  if ('s' in value) return [{ shape: [] }];
  const list = 'ints' in value ? value.ints : 'floats' in value ? value.floats : undefined;
  if (list) return [{ shape: [list.length], values: list }];
  return 'strings' in value ? [{ shape: [value.strings.length] }] : undefined;
};

const split: Rule = (node, [x, given]) => {
  if (!x) return undefined;
  const axis = axisOf(int(node, 'axis', 0), x.shape.length);
  const dim = x.shape[axis] ?? Number.NaN;
  const n = node.outputs.length;
  const even = Math.ceil(dim / n);
  const parts = numbers(node, 'split') ?? given?.values ?? node.outputs.map((_, i) => Math.min(even, dim - i * even));
  const outputs = parts.map((part) => checked(x.shape.map((d, i) => (i === axis ? part : d)))?.[0]);
  return outputs.every((k) => k !== undefined) ? outputs : undefined;
};

/** Resize (sizes, or scales) and Upsample (scales input or attribute). */
const resize: Rule = (node, inputs) => {
  const [x] = inputs;
  const sizes = node.opType === 'Resize' ? inputs[3]?.values : undefined;
  const scales = inputs[node.opType === 'Resize' && inputs.length > 2 ? 2 : 1]?.values ?? numbers(node, 'scales');
  if (!x) return undefined;
  if (sizes?.length === x.shape.length) return checked(sizes);
  if (scales?.length === x.shape.length) return checked(x.shape.map((d, i) => Math.floor(d * (scales[i] ?? 1))));
  return undefined;
};

const UNARY = `Relu Clip Sigmoid Tanh LeakyRelu Elu Selu Celu HardSigmoid HardSwish Softmax LogSoftmax Hardmax Exp
  Log Sqrt Neg Abs Identity Dropout Cast CastLike Erf Floor Ceil Round Reciprocal Sin Cos Tan Atan Not Sign Softplus
  Softsign PRelu Gelu Mish ThresholdedRelu Shrink IsNaN IsInf CumSum LRN BatchNormalization InstanceNormalization
  LayerNormalization GroupNormalization MeanVarianceNormalization LpNormalization QuantizeLinear DequantizeLinear`;
const BROADCASTING = `Add Sub Mul Div Pow Max Min Mean Sum Mod Equal Greater Less GreaterOrEqual LessOrEqual And Or
  Xor BitShift Where`;
const REDUCING = `ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp
  ReduceSumSquare ArgMax ArgMin`;
const each = (names: string, rule: Rule) => names.split(/\s+/).map((name) => [name, rule] as const);

/** Shape rules of the weightless ops, by op type (default ONNX domain). */
export const SHAPE_RULES: Record<string, Rule> = {
  ...Object.fromEntries([...each(UNARY, unary), ...each(BROADCASTING, broadcasting), ...each(REDUCING, reduce)]),
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Concat: concat,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Gather: gather,
  Slice: slice,
  Pad: pad,
  Shape: shapeOf,
  Size: (_node, [x]) => x && [{ shape: [], values: [size(x.shape)] }],
  Constant: constant,
  ConstantOfShape: (_node, [s]) => (s?.values ? checked(s.values) : undefined),
  Expand: (_node, [x, s]) => (x && s?.values ? checked(broadcast([x.shape, s.values]) ?? [Number.NaN]) : undefined),
  Tile: (_node, [x, r]) => (x && r?.values ? checked(x.shape.map((d, i) => d * (r.values?.[i] ?? 1))) : undefined),
  Split: split,
  Resize: resize,
  Upsample: resize,
};
