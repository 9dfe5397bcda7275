import { type GraphBuilder, lastAxis, type Value } from './graph.ts';
import { type LayerSpec, unsupported } from './layer-spec.ts';

type Activation = (g: GraphBuilder, x: string, base: string, axis: number) => string;

/** One elementwise ONNX op. */
const op =
  (opType: string, attributes = {}): Activation =>
  (g, x, base) =>
    g.node(opType, [x], `${base}/${opType}`, attributes);

/** `x * f(x)`, the shape of swish, mish and gelu. */
const times = (f: Activation): Activation => {
  return (g, x, base, axis) => g.node('Mul', [x, f(g, x, base, axis)], `${base}/Mul`);
};

/** The Gaussian CDF 0.5·(1 + erf(x/√2)), in the order tfjs computes it. */
const normalCdf: Activation = (g, x, base) => {
  const scaled = g.node('Div', [x, g.scalar(`${base}/sqrt2`, Math.SQRT2)], `${base}/Div`);
  const erf = g.node('Erf', [scaled], `${base}/Erf`);
  const plusOne = g.node('Add', [g.scalar(`${base}/one`, 1), erf], `${base}/Add`);
  return g.node('Mul', [g.scalar(`${base}/half`, 0.5), plusOne], `${base}/Mul`);
};

/** tfjs's gelu_new: 0.5·(1 + tanh(√(2/π)·(x + 0.044715·x³))), times x. */
const tanhCdf: Activation = (g, x, base) => {
  const cube = g.node('Pow', [x, g.scalar(`${base}/three`, 3)], `${base}/Pow`);
  const inner = g.node(
    'Add',
    [x, g.node('Mul', [g.scalar(`${base}/c`, 0.044715), cube], `${base}/Mul`)],
    `${base}/Add`,
  );
  const scaled = g.node('Mul', [g.scalar(`${base}/k`, Math.sqrt(2 / Math.PI)), inner], `${base}/Mul`);
  const plusOne = g.node('Add', [g.scalar(`${base}/one`, 1), g.node('Tanh', [scaled], `${base}/Tanh`)], `${base}/Add`);
  return g.node('Mul', [g.scalar(`${base}/half`, 0.5), plusOne], `${base}/Mul`);
};

/** tfjs activation names (as model.json stores them) → ONNX ops. `axis` is where softmax normalises. */
const ACTIVATIONS: Record<string, Activation | null> = {
  linear: null,
  relu: op('Relu'),
  relu6: (g, x, base) => g.node('Clip', [x, g.scalar(`${base}/min`, 0), g.scalar(`${base}/max`, 6)], `${base}/Clip`),
  sigmoid: op('Sigmoid'),
  // tfjs: clip(0.2·x + 0.5, 0, 1), which is exactly ONNX HardSigmoid with these parameters.
  hard_sigmoid: op('HardSigmoid', { alpha: { f: 0.2 }, beta: { f: 0.5 } }),
  tanh: op('Tanh'),
  elu: op('Elu', { alpha: { f: 1 } }),
  // The SELU constants tfjs uses (they round to ONNX's defaults in float32).
  selu: op('Selu', { alpha: { f: 1.6732632423543772 }, gamma: { f: 1.0507009873554805 } }),
  softplus: op('Softplus'),
  softsign: op('Softsign'),
  softmax: (g, x, base, axis) => g.node('Softmax', [x], `${base}/Softmax`, { axis: { i: axis } }),
  log_softmax: (g, x, base, axis) => g.node('LogSoftmax', [x], `${base}/LogSoftmax`, { axis: { i: axis } }),
  swish: times(op('Sigmoid')),
  mish: times((g, x, base, axis) => op('Tanh')(g, op('Softplus')(g, x, base, axis), base, axis)),
  gelu: times(normalCdf),
  gelu_new: times(tanhCdf),
};

/** The names {@link applyActivation} accepts. */
export const SUPPORTED_ACTIVATIONS = Object.keys(ACTIVATIONS);

/**
 * Applies the activation `name` of `layer` to `x` (softmax and log_softmax over the last tfjs
 * axis, wherever it lies in x's layout).
 */
export function applyActivation(g: GraphBuilder, layer: LayerSpec, x: Value, name: unknown): Value {
  const key = name ?? 'linear';
  const activation = typeof key === 'string' && Object.hasOwn(ACTIVATIONS, key) ? ACTIVATIONS[key] : undefined;
  if (activation === undefined) {
    throw unsupported(layer, `activation ${JSON.stringify(key)} (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
  }
  if (activation === null) return x;
  return { ...x, name: activation(g, x.name, `${layer.name}/${key}`, lastAxis(x)) };
}
