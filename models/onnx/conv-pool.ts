import { applyActivation } from './activations.ts';
import { type Converter, inLayout, type Value } from './graph.ts';
import { bool, type LayerSpec, num, pair, requireChannelsLast, str, unsupported } from './layer-spec.ts';

/** Output sizes and ONNX `pads` ([top, left, bottom, right]) of a 2-D window op, as TF computes them. */
function windowPads(
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

function requireImage(layer: LayerSpec, x: Value): void {
  if (x.shape.length !== 3) throw unsupported(layer, `input rank ${x.shape.length + 1} (needs [batch, H, W, C])`);
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
  const w = new Float32Array(kernel.length);
  for (let i = 0; i < kh; ++i)
    for (let j = 0; j < kw; ++j)
      for (let c = 0; c < channels; ++c)
        for (let f = 0; f < filters; ++f) {
          w[((f * channels + c) * kh + i) * kw + j] = kernel[((i * kw + j) * channels + c) * filters + f] as number;
        }
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

/** Global pooling reduces H and W wherever they are in x's layout, so no transpose is needed. */
function globalPool(opType: 'ReduceMean' | 'ReduceMax'): Converter {
  return (g, layer, x) => {
    requireChannelsLast(layer);
    requireImage(layer, x);
    if (layer.config.keepdims === true) throw unsupported(layer, 'keepdims');
    const axes = x.layout === 'nchw' ? [2, 3] : [1, 2];
    const name = g.node(opType, [x.name], `${layer.name}/${opType}`, { axes: { ints: axes }, keepdims: { i: 0 } });
    return { name, shape: [x.shape[2] as number], layout: 'nhwc' };
  };
}

export const globalAveragePooling2d = globalPool('ReduceMean');
export const globalMaxPooling2d = globalPool('ReduceMax');
