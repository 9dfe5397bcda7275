import { applyActivation } from './activations.ts';
import { type Converter, inLayout, lastAxis } from './graph.ts';
import { bool, num, requireChannelsLast, unsupported } from './layer-spec.ts';

/** Dense: MatMul over the last axis (NHWC, as tfjs), plus bias, plus activation. */
export const dense: Converter = (g, layer, x, weights) => {
  const units = num(layer, 'units');
  const input = inLayout(g, x, 'nhwc');
  const features = input.shape.at(-1);
  if (features === undefined) throw unsupported(layer, 'input without a feature axis');
  const kernel = g.constant(
    `${layer.name}/kernel`,
    [features, units],
    weights.take(layer, 'kernel', [features, units]),
  );
  let name = g.node('MatMul', [input.name, kernel], `${layer.name}/MatMul`);
  if (bool(layer, 'use_bias', true)) {
    const bias = g.constant(`${layer.name}/bias`, [units], weights.take(layer, 'bias', [units]));
    name = g.node('Add', [name, bias], `${layer.name}/Add`);
  }
  return applyActivation(
    g,
    layer,
    { name, shape: [...input.shape.slice(0, -1), units], layout: 'nhwc' },
    layer.config.activation,
  );
};

/** Flatten in tfjs order: channels last, so an NCHW value is transposed back first. */
export const flatten: Converter = (g, layer, x) => {
  requireChannelsLast(layer);
  const input = inLayout(g, x, 'nhwc');
  const name = g.node('Flatten', [input.name], `${layer.name}/Flatten`, { axis: { i: 1 } });
  return { name, shape: [x.shape.reduce((n, d) => n * d, 1)], layout: 'nhwc' };
};

/** Reshape to target_shape (tfjs order, without batch; one unknown dimension, -1 or null). */
export const reshape: Converter = (g, layer, x) => {
  const raw = layer.config.target_shape;
  const target = Array.isArray(raw) ? raw.map((d) => (d === null ? -1 : d)) : [];
  const size = x.shape.reduce((n, d) => n * d, 1);
  const known = target.reduce((n: number, d: number) => (d === -1 ? n : n * d), 1);
  const shape = target.map((d: number) => (d === -1 ? size / known : d));
  const valid = target.every((d) => Number.isInteger(d) && (d > 0 || d === -1));
  if (
    !valid ||
    target.length === 0 ||
    target.filter((d) => d === -1).length > 1 ||
    shape.reduce((n, d) => n * d, 1) !== size
  ) {
    throw unsupported(layer, `cannot reshape [${x.shape}] to ${JSON.stringify(raw)}`);
  }
  const dims = g.constant(`${layer.name}/shape`, [shape.length + 1], BigInt64Array.from([-1, ...shape], BigInt));
  const name = g.node('Reshape', [inLayout(g, x, 'nhwc').name, dims], `${layer.name}/Reshape`);
  return { name, shape, layout: 'nhwc' };
};

/** Layers that only act in training (dropout, noise) are the identity at inference. */
export const identity: Converter = (_g, _layer, x) => x;

export const activation: Converter = (g, layer, x) => applyActivation(g, layer, x, layer.config.activation);

/** ReLU layer: plain Relu, or Clip(0, max_value) when capped. */
export const relu: Converter = (g, layer, x) => {
  // Keras (not tfjs) ReLU layers may also carry these; refuse rather than drop them.
  for (const key of ['negative_slope', 'threshold']) {
    if ((layer.config[key] ?? 0) !== 0) throw unsupported(layer, `${key} ${String(layer.config[key])}`);
  }
  const max = layer.config.max_value;
  if (max === null || max === undefined) return { ...x, name: g.node('Relu', [x.name], `${layer.name}/Relu`) };
  const min = g.scalar(`${layer.name}/min`, 0);
  const name = g.node(
    'Clip',
    [x.name, min, g.scalar(`${layer.name}/max`, num(layer, 'max_value'))],
    `${layer.name}/Clip`,
  );
  return { ...x, name };
};

export const leakyRelu: Converter = (g, layer, x) => ({
  ...x,
  name: g.node('LeakyRelu', [x.name], `${layer.name}/LeakyRelu`, { alpha: { f: num(layer, 'alpha', 0.3) } }),
});

export const elu: Converter = (g, layer, x) => ({
  ...x,
  name: g.node('Elu', [x.name], `${layer.name}/Elu`, { alpha: { f: num(layer, 'alpha', 1) } }),
});

/** Softmax layer; tfjs itself normalises over the last axis only (its default axis is 1). */
export const softmax: Converter = (g, layer, x) => {
  const axis = num(layer, 'axis', 1);
  if (axis !== -1 && axis !== x.shape.length) throw unsupported(layer, `axis ${axis} (only the last axis)`);
  return { ...x, name: g.node('Softmax', [x.name], `${layer.name}/Softmax`, { axis: { i: lastAxis(x) } }) };
};

/**
 * BatchNormalization at inference, over the last (channel) axis: ONNX BatchNormalization wants
 * channels at axis 1, which is NCHW for images and the feature axis for [batch, features].
 */
export const batchNormalization: Converter = (g, layer, x, weights) => {
  const rank = x.shape.length + 1;
  const axis = num(layer, 'axis', -1);
  if (axis !== -1 && axis !== rank - 1) throw unsupported(layer, `axis ${axis} (only the last axis)`);
  if (rank !== 2 && rank !== 4) throw unsupported(layer, `input rank ${rank} (only 2 or 4)`);
  const channels = x.shape.at(-1) as number;
  const param = (key: string, use: boolean, fallback: number) =>
    g.constant(
      `${layer.name}/${key}`,
      [channels],
      use ? weights.take(layer, key, [channels]) : new Float32Array(channels).fill(fallback),
    );
  const inputs = [
    inLayout(g, x, 'nchw').name,
    param('gamma', bool(layer, 'scale', true), 1),
    param('beta', bool(layer, 'center', true), 0),
    param('moving_mean', true, 0),
    param('moving_variance', true, 1),
  ];
  const epsilon = { f: num(layer, 'epsilon', 1e-3) };
  const name = g.node('BatchNormalization', inputs, `${layer.name}/BatchNormalization`, { epsilon });
  return { name, shape: x.shape, layout: 'nchw' };
};
