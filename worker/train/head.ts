import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { EdgeloopError } from '../../protocol/errors.ts';
import { type Alignment, alignInputs } from './align.ts';

/**
 * Layers a personal head may hold: cheap per example (no spatial kernels), so the head trains on
 * features computed once per example instead of backpropagating through the whole model.
 */
const HEAD_LAYERS = new Set([
  'Dense',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Activation',
  'Softmax',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'ThresholdedReLU',
  'Flatten',
  'Reshape',
  'BatchNormalization',
  'LayerNormalization',
]);

/** A model seen as features → head: the head is its trailing chain of dense-like layers. */
export interface HeadSplit {
  /** What the head reads: the output of the last layer before it, or the model's input. */
  features: tfl.SymbolicTensor;
  featureShape: number[];
  featureSize: number;
  /** The registry model's head layers, input to output. */
  layers: tfl.layers.Layer[];
  /** Features for a batch of inputs (the model itself up to `features`); null when they are the inputs. */
  extractor: tfl.LayersModel | null;
}

/**
 * Finds the model's head: walking back from its only output while each layer is a dense-like
 * layer with one input, used once. A model of several inputs has its features after the layer
 * that joins them (a Concatenate, say). A model without such a head (no trainable dense layer at
 * its end) or with several outputs cannot be personalised: UNSUPPORTED_MODEL.
 *
 * @example
 * const split = splitHead(loaded.model); // digits: Flatten, Dropout, Dense, Dense on 5×5×32 features
 */
export function splitHead(model: tfl.LayersModel): HeadSplit {
  if (model.outputs.length !== 1) {
    throw new EdgeloopError('UNSUPPORTED_MODEL', `${model.name}: on-device training needs one output`);
  }
  const layers: tfl.layers.Layer[] = [];
  let at = model.outputs[0] as tfl.SymbolicTensor;
  while (
    HEAD_LAYERS.has(at.sourceLayer.getClassName()) &&
    at.inputs.length === 1 &&
    at.sourceLayer.inboundNodes.length === 1
  ) {
    layers.unshift(at.sourceLayer as tfl.layers.Layer);
    at = at.inputs[0] as tfl.SymbolicTensor;
  }
  if (!layers.some((layer) => layer.trainableWeights.length > 0)) {
    throw new EdgeloopError(
      'UNSUPPORTED_MODEL',
      `${model.name}: on-device training needs dense layers at the model's end (it ends with ${(model.outputs[0] as tfl.SymbolicTensor).sourceLayer.getClassName()})`,
    );
  }
  const featureShape = at.shape.slice(1);
  if (featureShape.some((d) => d === null)) {
    throw new EdgeloopError('UNSUPPORTED_MODEL', `${model.name}: the head's input shape must be fixed`);
  }
  const isInput = model.inputs.includes(at);
  if (isInput && model.inputs.length > 1) {
    throw new EdgeloopError('UNSUPPORTED_MODEL', `${model.name}: its head reads one of its inputs alone`);
  }
  return {
    features: at,
    featureShape: featureShape as number[],
    featureSize: (featureShape as number[]).reduce((a, b) => a * b, 1),
    layers,
    // A model over existing tensors applies no layer, so it adds no reference to any: never dispose it.
    extractor: isInput ? null : tfl.model({ inputs: model.inputs, outputs: at }),
  };
}

let clones = 0;

/** A weight as IndexedDB stores it and a model is rebuilt from: shape and float32 values. */
export interface StoredWeight {
  shape: number[];
  values: Float32Array;
}

/**
 * Layers' weights, layer by layer, read back asynchronously (never synchronously: see
 * place-model.ts).
 *
 * @example
 * const weights = await readWeights(split.layers);
 */
export async function readWeights(layers: readonly tfl.layers.Layer[]): Promise<StoredWeight[]> {
  return Promise.all(
    layers
      .flatMap((layer) => layer.weights)
      .map(async (w) => {
        const value = w.read();
        return { shape: value.shape, values: (await value.data()) as Float32Array };
      }),
  );
}

/**
 * A standalone model of fresh copies of `layers` (same configuration) with `weights`, reading
 * `featureShape`, on the active backend. The copy shares nothing with the original.
 *
 * @example
 * const head = cloneHead(split.layers, split.featureShape, await readWeights(split.layers));
 */
export function cloneHead(
  layers: tfl.layers.Layer[],
  featureShape: number[],
  weights: StoredWeight[],
): tfl.LayersModel {
  const tag = ++clones;
  const input = tfl.input({ shape: featureShape, name: `personal_input_${tag}` });
  let x = input;
  for (const layer of layers) {
    // Without the first layer's input shape, which would make the copy an input layer of its own.
    const config: tf.serialization.ConfigDict = { ...layer.getConfig(), name: `${layer.name}_personal_${tag}` };
    delete config.batchInputShape;
    delete config.inputShape;
    const Layer = layer.constructor as tf.serialization.SerializableConstructor<tfl.layers.Layer>;
    x = Layer.fromConfig(Layer, config).apply(x) as tfl.SymbolicTensor;
  }
  const head = tfl.model({ inputs: input, outputs: x, name: `personal_head_${tag}` });
  setStoredWeights(head, weights);
  return head;
}

/** Sets a model's weights from stored values, layer by layer (the order {@link readWeights} reads). */
export function setStoredWeights(model: tfl.LayersModel, weights: StoredWeight[]): void {
  const expected = model.layers.reduce((n, layer) => n + layer.weights.length, 0);
  if (weights.length !== expected) {
    throw new EdgeloopError('INTERNAL', `${model.name}: ${weights.length} stored weights for ${expected}`);
  }
  let at = 0;
  for (const layer of model.layers) {
    const tensors = weights.slice(at, at + layer.weights.length).map((w) => tf.tensor(w.values, w.shape));
    at += tensors.length;
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
}

/** What a gate reads with an alignment: per input, how sure the registry is of it as it is and aligned. */
export const VIEW_CONFIDENCES = 4;

/**
 * What the gate reads: the registry's features of an input, or, with an alignment, four numbers
 * per input, the registry's top log-probability and top-two margin for the input as it is and
 * aligned. Which view the registry model recognises is what tells the user's inputs from its
 * usual ones once they are aligned (an aligned standard digit is a turned or mirrored one), and
 * four numbers are learnt from a few labels where a linear map of the features is not.
 */
export function gateShape(split: HeadSplit, aligned: boolean): number[] {
  return aligned ? [split.featureSize + VIEW_CONFIDENCES] : split.featureShape;
}

/**
 * The gate's four numbers from the registry's probabilities [n, classes] of the inputs as they
 * are and aligned (see {@link gateShape}).
 */
export function viewConfidences(asIs: tf.Tensor2D, aligned: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const views = [asIs, aligned].map((p) => {
      // Top two by max and a mask, not topk: topk has no gradient, and an explanation of the
      // served model differentiates through this.
      const logs = tf.log(tf.clipByValue(p, 1e-7, 1));
      const top = tf.max(logs, 1, true);
      const mask = tf.oneHot(tf.argMax(logs, 1), p.shape[1] ?? 1, 1, 0, 'float32');
      const second = tf.max(tf.sub(logs, tf.mul(mask, 1e9)), 1, true);
      return [top, tf.sub(top, second)];
    });
    return tf.concat(views.flat(), 1) as tf.Tensor2D;
  });
}

/** The gate's inputs of {@link viewConfidences} as a layer of the served model. */
class ViewConfidences extends tfl.layers.Layer {
  static className = 'EdgeloopViewConfidences';
  override computeOutputShape(shapes: tfl.Shape[]): tfl.Shape {
    return [(shapes[0] as tfl.Shape)[0] ?? null, VIEW_CONFIDENCES];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [asIs, aligned] = inputs as [tf.Tensor2D, tf.Tensor2D];
    return viewConfidences(asIs, aligned);
  }
}

/** A gate reading `featureShape` (see {@link gateShape}). */
export function buildGate(featureShape: number[]): tfl.LayersModel {
  const tag = ++clones;
  const input = tfl.input({ shape: featureShape, name: `gate_input_${tag}` });
  const flat = featureShape.length > 1 ? (tfl.layers.flatten().apply(input) as tfl.SymbolicTensor) : input;
  const gate = tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: 'zeros', name: `gate_${tag}` });
  return tfl.model({ inputs: input, outputs: gate.apply(flat) as tfl.SymbolicTensor, name: `personal_gate_${tag}` });
}

/**
 * How a personal head's answer mixes with the registry's: a classifier's probabilities in log
 * space ({@link mixProbabilities}), a regression model's values linearly ({@link mixValues}).
 */
export type MixKind = 'log' | 'linear';

/**
 * The gated mixture per example, with `w = strength · gate`: in log space
 * `softmax((1 − w)·log registry + w·log personal)` (see {@link mixProbabilities}), or linear
 * `(1 − w)·registry + w·personal`.
 */
class GatedMix extends tfl.layers.Layer {
  static className = 'EdgeloopGatedMix';
  readonly #strength: number;
  readonly #kind: MixKind;
  constructor(args: { name: string; strength: number; kind: MixKind }) {
    super({ name: args.name });
    this.#strength = args.strength;
    this.#kind = args.kind;
  }
  override computeOutputShape(shapes: tfl.Shape[]): tfl.Shape {
    return shapes[1] as tfl.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [gate, personal, registry] = inputs as [tf.Tensor, tf.Tensor, tf.Tensor];
      const w = tf.mul(gate, this.#strength);
      if (this.#kind === 'linear') return tf.add(tf.mul(tf.sub(1, w), registry), tf.mul(w, personal));
      const logs = (p: tf.Tensor) => tf.log(tf.clipByValue(p, MIX_FLOOR, 1));
      return tf.softmax(tf.add(tf.mul(tf.sub(1, w), logs(registry)), tf.mul(w, logs(personal))));
    });
  }
}

/** The smallest probability the mixture takes the log of. */
const MIX_FLOOR = 1e-7;

/**
 * The gated mixture of the registry's and the personal head's probabilities for one example
 * (`classes` of each), weight `w = strength · gate` on the personal head, in log space (a
 * product of the two, renormalised): where one of them is sure and the other is not, the sure
 * one decides, so a confident registry answer on a standard input survives a hesitant personal
 * head, and a confident personal answer on the user's input overrides a confused registry.
 * What the served model's GatedMix layer computes.
 *
 * @example
 * mixProbabilities(registryRow, personalRow, 0.8, out);
 */
export function mixProbabilities(registry: Float32Array, personal: Float32Array, w: number, out: Float32Array): void {
  let top = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < out.length; k++) {
    const r = Math.log(Math.max(MIX_FLOOR, Math.min(1, registry[k] as number)));
    const p = Math.log(Math.max(MIX_FLOOR, Math.min(1, personal[k] as number)));
    out[k] = (1 - w) * r + w * p;
    top = Math.max(top, out[k] as number);
  }
  let total = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = Math.exp((out[k] as number) - top);
    total += out[k] as number;
  }
  for (let k = 0; k < out.length; k++) out[k] = (out[k] as number) / total;
}

/**
 * The gated linear mixture of the registry's and the personal head's values for one example:
 * `(1 − w)·registry + w·personal`, what GatedMix computes for a regression model.
 *
 * @example
 * mixValues(registryRow, personalRow, 0.8, out);
 */
export function mixValues(registry: Float32Array, personal: Float32Array, w: number, out: Float32Array): void {
  for (let k = 0; k < out.length; k++) out[k] = (1 - w) * (registry[k] as number) + w * (personal[k] as number);
}

/** The user's inputs under their alignment (align.ts), in front of the personal head's feature layers. */
class AlignedInputs extends tfl.layers.Layer {
  static className = 'EdgeloopAlignedInputs';
  readonly #alignment: Alignment;
  constructor(args: { name: string; alignment: Alignment }) {
    super({ name: args.name });
    this.#alignment = args.alignment;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
    return alignInputs(x as tf.Tensor4D, this.#alignment);
  }
}

/** Labels at which a personal head weighs half (credibility weighting: n / (n + k)). */
export const CREDIBILITY_LABELS = 10;

/**
 * How much a personal head fitted on `labels` examples may move the answer: few labels can
 * tell a head where the user differs, but not yet how far to trust it over the registry.
 *
 * @example
 * personalStrength(10); // 0.5
 */
export function personalStrength(labels: number): number {
  return labels / (labels + CREDIBILITY_LABELS);
}

/**
 * The served model with a personal head: the registry model unchanged, plus the gate on its
 * features and the personal head on the features of the aligned input (the same features when
 * there is no alignment), mixed per example (`kind`). Disposing it must not touch the registry's
 * layers: use {@link disposeWeights} on `head` and `gate` instead.
 *
 * @example
 * loaded.model = personalModel(registry, split, { head, gate, strength: personalStrength(50), kind: 'log' });
 */
export function personalModel(
  registry: tfl.LayersModel,
  split: HeadSplit,
  parts: { head: tfl.LayersModel; gate: tfl.LayersModel; strength: number; kind: MixKind },
  alignment?: Alignment,
): tfl.LayersModel {
  const { head, gate, strength, kind } = parts;
  let features = split.features;
  let seen = split.features;
  if (alignment) {
    const aligned = new AlignedInputs({ name: `aligned_inputs_${++clones}`, alignment }).apply(
      registry.inputs[0] as tfl.SymbolicTensor,
    ) as tfl.SymbolicTensor;
    // The registry's own feature layers, applied a second time: shared weights, no copy.
    features = split.extractor ? (split.extractor.apply(aligned) as tfl.SymbolicTensor) : aligned;
    // The registry's own head on the aligned features: shared layers again.
    const alignedRegistry = split.layers.reduce<tfl.SymbolicTensor>(
      (x, layer) => layer.apply(x) as tfl.SymbolicTensor,
      features,
    );
    const confidences = new ViewConfidences({ name: `view_confidences_${++clones}` }).apply([
      registry.outputs[0] as tfl.SymbolicTensor,
      alignedRegistry,
    ]) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten({ name: `gate_features_${++clones}` }).apply(split.features) as tfl.SymbolicTensor;
    seen = tfl.layers.concatenate({ name: `gate_inputs_${++clones}` }).apply([flat, confidences]) as tfl.SymbolicTensor;
  }
  const personal = head.apply(features) as tfl.SymbolicTensor;
  const weight = gate.apply(seen) as tfl.SymbolicTensor;
  const output = new GatedMix({ name: `gated_mix_${++clones}`, strength, kind }).apply([
    weight,
    personal,
    registry.outputs[0] as tfl.SymbolicTensor,
  ]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: registry.inputs, outputs: output, name: `${registry.name}_personal` });
}

/** Frees a model's own weights (a personal head or gate), whatever else holds its layers. */
export function disposeWeights(model: tfl.LayersModel): void {
  for (const weight of model.weights) weight.dispose();
}
