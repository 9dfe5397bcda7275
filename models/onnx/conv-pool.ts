import { applyActivation } from './activations.ts';
import { type Converter, inLayout, type Value } from './graph.ts';
import { bool, type LayerSpec, num, pair, requireChannelsLast, str, unsupported } from './layer-spec.ts';

/**
 * Output sizes and ONNX `pads` ([top, left, bottom, right]) of a 2-D window op, as TF computes them.
 *
 * @example
 * const { out, pads } = windowPads(layer, x, [3, 3], [2, 2], [1, 1]); // same, 7×8 → out [4, 4], pads [1, 1, 1, 1]
 */
export function windowPads(
  layer: LayerSpec,
  x: Value,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): { out: [number, number]; pads: number[] } {
  const padding = str(layer, 'padding', 'valid');
  if (padding !== 'valid' && padding !== 'same') throw unsupported(layer, `padding "${padding}" (only valid, same)`);
  const out: number[] = [];
  const begin: number[] = [];
  const end: number[] = [];
  for (let axis = 0; axis < 2; ++axis) {
    const size = x.shape[axis] as number;
    const span = ((kernel[axis] as number) - 1) * (dilations[axis] as number) + 1;
    const stride = strides[axis] as number;
    // TF: "same" keeps ceil(size/stride) outputs and puts the odd padding pixel at the end
    // (not ONNX SAME_LOWER); "valid" pads nothing.
    const n = padding === 'same' ? Math.ceil(size / stride) : Math.ceil((size - span + 1) / stride);
    if (n < 1) throw unsupported(layer, `a ${span}-wide window does not fit input size ${size}`);
    const total = padding === 'same' ? Math.max((n - 1) * stride + span - size, 0) : 0;
    out.push(n);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return { out: [out[0] as number, out[1] as number], pads: [...begin, ...end] };
}

/**
 * Refuses anything but a [batch, H, W, C] input.
 *
 * @example
 * requireImage(layer, x); // throws UNSUPPORTED_MODEL for x.shape [5]
 */
export function requireImage(layer: LayerSpec, x: Value): void {
  if (x.shape.length !== 3) throw unsupported(layer, `input rank ${x.shape.length + 1} (needs [batch, H, W, C])`);
}

/**
 * A tfjs kernel [kh, kw, in, out] as an ONNX Conv weight [out, in, kh, kw].
 *
 * @example
 * const w = onnxKernel(weights.take(layer, 'kernel', [3, 3, 2, 8]), 3, 3, 2, 8); // dims [8, 2, 3, 3]
 */
export function onnxKernel(
  kernel: Float32Array,
  kh: number,
  kw: number,
  channels: number,
  filters: number,
): Float32Array {
  const w = new Float32Array(kernel.length);
  for (let i = 0; i < kh; ++i)
    for (let j = 0; j < kw; ++j)
      for (let c = 0; c < channels; ++c)
        for (let f = 0; f < filters; ++f) {
          w[((f * channels + c) * kh + i) * kw + j] = kernel[((i * kw + j) * channels + c) * filters + f] as number;
        }
  return w;
}

/** Conv2D: tfjs kernel [kh, kw, in, out] becomes ONNX W [out, in, kh, kw]; runs in NCHW. */
export const conv2d: Converter = (g, layer, x, weights) => {
  requireChannelsLast(layer);
  requireImage(layer, x);
  const groups = layer.config.groups ?? 1;
  if (groups !== 1) throw unsupported(layer, `groups ${String(groups)} (only 1)`);
  const [kh, kw] = pair(layer, 'kernel_size');
  const strides = pair(layer, 'strides', [1, 1]);
  const dilations = pair(layer, 'dilation_rate', [1, 1]);
  const filters = num(layer, 'filters');
  const channels = x.shape[2] as number;
  const { out, pads } = windowPads(layer, x, [kh, kw], strides, dilations);
  const kernel = weights.take(layer, 'kernel', [kh, kw, channels, filters]);
  const w = onnxKernel(kernel, kh, kw, channels, filters);
  const inputs = [inLayout(g, x, 'nchw').name, g.constant(`${layer.name}/kernel`, [filters, channels, kh, kw], w)];
  if (bool(layer, 'use_bias', true)) {
    inputs.push(g.constant(`${layer.name}/bias`, [filters], weights.take(layer, 'bias', [filters])));
  }
  const name = g.node('Conv', inputs, `${layer.name}/Conv`, {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: strides },
    dilations: { ints: dilations },
    pads: { ints: pads },
    group: { i: 1 },
  });
  return applyActivation(g, layer, { name, shape: [...out, filters], layout: 'nchw' }, layer.config.activation);
};

/** MaxPooling2D / AveragePooling2D with TF's padding; average pooling leaves padding out of the count. */
function pool(opType: 'MaxPool' | 'AveragePool'): Converter {
  return (g, layer, x) => {
    requireChannelsLast(layer);
    requireImage(layer, x);
    const kernel = pair(layer, 'pool_size', [2, 2]);
    const strides = pair(layer, 'strides', kernel);
    const { out, pads } = windowPads(layer, x, kernel, strides, [1, 1]);
    const attributes = { kernel_shape: { ints: kernel }, strides: { ints: strides }, pads: { ints: pads } };
    const name = g.node(
      opType,
      [inLayout(g, x, 'nchw').name],
      `${layer.name}/${opType}`,
      opType === 'AveragePool' ? { ...attributes, count_include_pad: { i: 0 } } : attributes,
    );
    return { name, shape: [...out, x.shape[2] as number], layout: 'nchw' };
  };
}

export const maxPooling2d = pool('MaxPool');
export const averagePooling2d = pool('AveragePool');

/**
 * Global pooling reduces H and W wherever they are in x's layout, so no transpose is needed.
 * Keras' keepdims (tfjs has none) keeps them as 1×1, still in x's layout.
 */
function globalPool(opType: 'ReduceMean' | 'ReduceMax'): Converter {
  return (g, layer, x) => {
    requireChannelsLast(layer);
    requireImage(layer, x);
    const keep = bool(layer, 'keepdims', false);
    const axes = x.layout === 'nchw' ? [2, 3] : [1, 2];
    const attributes = { axes: { ints: axes }, keepdims: { i: keep ? 1 : 0 } };
    const name = g.node(opType, [x.name], `${layer.name}/${opType}`, attributes);
    const channels = x.shape[2] as number;
    return keep ? { name, shape: [1, 1, channels], layout: x.layout } : { name, shape: [channels], layout: 'nhwc' };
  };
}

export const globalAveragePooling2d = globalPool('ReduceMean');
export const globalMaxPooling2d = globalPool('ReduceMax');

/** [[top, bottom], [left, right]] from ZeroPadding2D's `padding`: n, [h, w] or [[t, b], [l, r]]. */
function paddings(layer: LayerSpec): [number, number, number, number] {
  const raw = layer.config.padding ?? 1;
  const rows: unknown[] = typeof raw === 'number' ? [raw, raw] : Array.isArray(raw) ? raw : [];
  const sides = rows.map((r) => (typeof r === 'number' ? [r, r] : r));
  const flat = sides.flatMap((s) => (Array.isArray(s) && s.length === 2 ? s : [Number.NaN]));
  if (flat.length !== 4 || !flat.every((n) => Number.isInteger(n) && n >= 0)) {
    throw unsupported(layer, `padding ${JSON.stringify(raw)} (n, [h, w] or [[top, bottom], [left, right]])`);
  }
  return flat as [number, number, number, number];
}

/** ZeroPadding2D: ONNX Pad with zeros in x's current layout (no transpose). */
export const zeroPadding2d: Converter = (g, layer, x) => {
  requireChannelsLast(layer);
  requireImage(layer, x);
  const [top, bottom, left, right] = paddings(layer);
  const pads = x.layout === 'nchw' ? [0, 0, top, left, 0, 0, bottom, right] : [0, top, left, 0, 0, bottom, right, 0];
  const padsName = g.constant(`${layer.name}/pads`, [8], BigInt64Array.from(pads, BigInt));
  const name = g.node('Pad', [x.name, padsName], `${layer.name}/Pad`, { mode: { s: 'constant' } });
  const [h, w, c] = x.shape as [number, number, number];
  return { name, shape: [h + top + bottom, w + left + right, c], layout: x.layout };
};
