import { applyActivation } from './activations.ts';
import { onnxKernel, requireImage, windowPads } from './conv-pool.ts';
import { type Converter, type GraphBuilder, inLayout, type Value } from './graph.ts';
import { bool, type LayerSpec, num, pair, requireChannelsLast, unsupported } from './layer-spec.ts';
import type { Weights } from './weights.ts';

/** The layer's bias for `channels` outputs, as a Conv's third input; none without use_bias. */
function bias(g: GraphBuilder, layer: LayerSpec, weights: Weights, channels: number): string[] {
  if (!bool(layer, 'use_bias', true)) return [];
  return [g.constant(`${layer.name}/bias`, [channels], weights.take(layer, 'bias', [channels]))];
}

/**
 * The depthwise step: a grouped ONNX Conv, one group per input channel. tfjs's kernel
 * [kh, kw, C, M] holds output channel c·M + m at flat index c·M + m of its last two axes,
 * which is how ONNX numbers group c's M outputs, so it converts as a [kh, kw, 1, C·M] kernel.
 */
function depthwise(
  g: GraphBuilder,
  layer: LayerSpec,
  x: Value,
  weights: Weights,
  options: { dilations: [number, number]; withBias: boolean },
): Value {
  requireChannelsLast(layer);
  requireImage(layer, x);
  const [kh, kw] = pair(layer, 'kernel_size');
  const strides = pair(layer, 'strides', [1, 1]);
  // tfjs does not save SeparableConv2D's depth_multiplier; its depthwise kernel's last axis is it.
  const multiplier = num(layer, 'depth_multiplier', weights.shapeOf(layer, 'depthwise_kernel')?.[3] ?? 1);
  if (!Number.isInteger(multiplier) || multiplier < 1) throw unsupported(layer, `depth_multiplier ${multiplier}`);
  const channels = x.shape[2] as number;
  const filters = channels * multiplier;
  const { out, pads } = windowPads(layer, x, [kh, kw], strides, options.dilations);
  const kernel = weights.take(layer, 'depthwise_kernel', [kh, kw, channels, multiplier]);
  const w = g.constant(`${layer.name}/depthwise_kernel`, [filters, 1, kh, kw], onnxKernel(kernel, kh, kw, 1, filters));
  const inputs = [inLayout(g, x, 'nchw').name, w, ...(options.withBias ? bias(g, layer, weights, filters) : [])];
  const name = g.node('Conv', inputs, `${layer.name}/DepthwiseConv`, {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: strides },
    dilations: { ints: options.dilations },
    pads: { ints: pads },
    group: { i: channels },
  });
  return { name, shape: [...out, filters], layout: 'nchw' };
}

/**
 * DepthwiseConv2D (depth_multiplier, strides, same/valid padding, use_bias, activation).
 * tfjs-layers ignores its dilation_rate while Keras applies it, so a dilation is refused
 * rather than exported as either.
 */
export const depthwiseConv2d: Converter = (g, layer, x, weights) => {
  const dilation = pair(layer, 'dilation_rate', [1, 1]);
  if (dilation.join() !== '1,1') {
    throw unsupported(layer, `dilation_rate [${dilation}] (tfjs-layers ignores it on DepthwiseConv2D, Keras does not)`);
  }
  const y = depthwise(g, layer, x, weights, { dilations: [1, 1], withBias: true });
  return applyActivation(g, layer, y, layer.config.activation);
};

/** SeparableConv2D: the depthwise step (strides, dilation), then a 1×1 Conv to `filters` with the bias, then the activation. */
export const separableConv2d: Converter = (g, layer, x, weights) => {
  const dilations = pair(layer, 'dilation_rate', [1, 1]);
  const step = depthwise(g, layer, x, weights, { dilations, withBias: false });
  const channels = step.shape[2] as number;
  const filters = num(layer, 'filters');
  const pointwise = weights.take(layer, 'pointwise_kernel', [1, 1, channels, filters]);
  const w = g.constant(
    `${layer.name}/pointwise_kernel`,
    [filters, channels, 1, 1],
    onnxKernel(pointwise, 1, 1, channels, filters),
  );
  const name = g.node('Conv', [step.name, w, ...bias(g, layer, weights, filters)], `${layer.name}/PointwiseConv`, {
    kernel_shape: { ints: [1, 1] },
    group: { i: 1 },
  });
  const shape = [...step.shape.slice(0, 2), filters];
  return applyActivation(g, layer, { name, shape, layout: 'nchw' }, layer.config.activation);
};
