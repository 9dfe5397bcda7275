import { type GraphBuilder, inLayout, type MergeConverter, type Value } from './graph.ts';
import { type LayerSpec, num, unsupported } from './layer-spec.ts';

/** ONNX axis of tfjs axis 1 (H), 2 (W), 3 (C) of an image held as NCHW. */
const NCHW_AXIS = [0, 2, 3, 1];

/** The inputs in one layout (the first input's), so rank-4 values line up axis by axis. */
function aligned(g: GraphBuilder, layer: LayerSpec, xs: Value[]): Value[] {
  if (xs.length < 2) throw unsupported(layer, `a merge of ${xs.length} input(s) (needs at least 2)`);
  const layout = (xs[0] as Value).layout;
  return xs.map((x) => inLayout(g, x, layout));
}

/** The broadcast shape of same-rank inputs (each dimension equal, or 1), as tfjs allows. */
function broadcastShape(layer: LayerSpec, xs: Value[]): number[] {
  const shapes = xs.map((x) => x.shape);
  const rank = (shapes[0] as number[]).length;
  if (shapes.some((s) => s.length !== rank)) {
    throw unsupported(layer, `inputs of different ranks (${shapes.map((s) => `[${s}]`).join(', ')})`);
  }
  return Array.from({ length: rank }, (_, axis) => {
    const sizes = new Set(shapes.map((s) => s[axis] as number));
    sizes.delete(1);
    if (sizes.size > 1)
      throw unsupported(layer, `input shapes ${shapes.map((s) => `[${s}]`).join(', ')} do not broadcast`);
    return [...sizes][0] ?? 1;
  });
}

/**
 * An elementwise merge folded left to right, as tfjs computes it (so float sums round alike);
 * `finish` may add a last step (Average's 1/n).
 */
function elementwise(
  opType: string,
  finish?: (g: GraphBuilder, layer: LayerSpec, x: string, n: number) => string,
): MergeConverter {
  return (g, layer, xs) => {
    const inputs = aligned(g, layer, xs);
    const shape = broadcastShape(layer, inputs);
    let name = (inputs[0] as Value).name;
    for (const x of inputs.slice(1)) name = g.node(opType, [name, x.name], `${layer.name}/${opType}`);
    if (finish) name = finish(g, layer, name, inputs.length);
    return { name, shape, layout: (inputs[0] as Value).layout };
  };
}

export const add = elementwise('Add');
export const multiply = elementwise('Mul');
export const maximum = elementwise('Max');
export const minimum = elementwise('Min');
/** tfjs: the sum times 1/n (not a division). */
export const average = elementwise('Add', (g, layer, x, n) =>
  g.node('Mul', [g.scalar(`${layer.name}/inverse_count`, 1 / n), x], `${layer.name}/Mul`),
);

/** Keras' Subtract (tfjs-layers has none): exactly two inputs, the first minus the second. */
export const subtract: MergeConverter = (g, layer, xs) => {
  if (xs.length !== 2) throw unsupported(layer, `${xs.length} inputs (Subtract takes exactly 2)`);
  return elementwise('Sub')(g, layer, xs);
};

/** Concatenate along `axis` (tfjs order, with the batch at 0; -1 is the last). */
export const concatenate: MergeConverter = (g, layer, xs) => {
  const inputs = aligned(g, layer, xs);
  const first = inputs[0] as Value;
  const rank = first.shape.length + 1;
  const raw = num(layer, 'axis', -1);
  // tfjs-layers concatenates along the last axis for every negative axis (its K.concatenate),
  // while Keras counts from the end: refuse the ones where the two disagree.
  if (raw < -1) {
    throw unsupported(
      layer,
      `axis ${raw} (tfjs-layers joins along the last axis, Keras along axis ${rank + raw}; save the positive axis)`,
    );
  }
  const axis = raw === -1 ? rank - 1 : raw;
  if (!Number.isInteger(axis) || axis < 1 || axis >= rank) {
    throw unsupported(layer, `axis ${raw} for inputs of rank ${rank} (the batch axis cannot be concatenated)`);
  }
  const shapes = inputs.map((x) => x.shape);
  const others = (s: number[]) => s.filter((_, i) => i !== axis - 1).join();
  if (shapes.some((s) => s.length !== first.shape.length || others(s) !== others(first.shape))) {
    throw unsupported(layer, `input shapes ${shapes.map((s) => `[${s}]`).join(', ')} differ off axis ${raw}`);
  }
  const shape = [...first.shape];
  shape[axis - 1] = shapes.reduce((n, s) => n + (s[axis - 1] as number), 0);
  const onnxAxis = rank === 4 && first.layout === 'nchw' ? (NCHW_AXIS[axis] as number) : axis;
  const name = g.node(
    'Concat',
    inputs.map((x) => x.name),
    `${layer.name}/Concat`,
    { axis: { i: onnxAxis } },
  );
  return { name, shape, layout: first.layout };
};
