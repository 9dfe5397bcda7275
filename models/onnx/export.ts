import { EdgeloopError } from '../../protocol/errors.ts';
import type { ModelJson } from '../../protocol/model-json.ts';
import {
  averagePooling2d,
  conv2d,
  globalAveragePooling2d,
  globalMaxPooling2d,
  maxPooling2d,
  zeroPadding2d,
} from './conv-pool.ts';
import {
  activation,
  batchNormalization,
  dense,
  elu,
  flatten,
  identity,
  leakyRelu,
  relu,
  reshape,
  softmax,
} from './core-layers.ts';
import { depthwiseConv2d, separableConv2d } from './depthwise.ts';
import { type Converter, GraphBuilder, inLayout, type MergeConverter, type Value } from './graph.ts';
import { unsupported } from './layer-spec.ts';
import { add, average, concatenate, maximum, minimum, multiply, subtract } from './merge-layers.ts';
import { encodeModel } from './onnx-proto.ts';
import { readTopology } from './topology.ts';
import { Weights } from './weights.ts';

/** tfjs-layers class names the exporter converts, for layers taking one input. */
const CONVERTERS: Record<string, Converter> = {
  Dense: dense,
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  ZeroPadding2D: zeroPadding2d,
  MaxPooling2D: maxPooling2d,
  AveragePooling2D: averagePooling2d,
  GlobalAveragePooling2D: globalAveragePooling2d,
  GlobalMaxPooling2D: globalMaxPooling2d,
  Flatten: flatten,
  Reshape: reshape,
  Activation: activation,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  ELU: elu,
  Softmax: softmax,
  BatchNormalization: batchNormalization,
  Dropout: identity,
  SpatialDropout1D: identity,
  AlphaDropout: identity,
  GaussianDropout: identity,
  GaussianNoise: identity,
};

/** Merge layers, taking several inputs. */
const MERGES: Record<string, MergeConverter> = {
  Add: add,
  Subtract: subtract,
  Multiply: multiply,
  Average: average,
  Maximum: maximum,
  Minimum: minimum,
  Concatenate: concatenate,
};

/** The layer classes {@link exportOnnx} supports. */
export const SUPPORTED_LAYERS = ['InputLayer', ...Object.keys(CONVERTERS), ...Object.keys(MERGES)];

/** The ONNX operator set and IR version the export targets (ORT Web runs both). */
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Graph input name of a single-input model; default the tfjs input's (the InputLayer, or `<first layer>_input`). */
  inputName?: string;
  /** Graph output name of a single-output model; default the output layer's. */
  outputName?: string;
  /** Graph input names, one per tfjs input in the model's order (instead of inputName). */
  inputNames?: readonly string[];
  /** Graph output names, one per tfjs output in the model's order (instead of outputName). */
  outputNames?: readonly string[];
}

/** The graph names for the tfjs endpoints `defaults`: the tfjs names, or those the options give. */
function endpointNames(
  what: 'input' | 'output',
  defaults: string[],
  one: string | undefined,
  many: readonly string[] | undefined,
): string[] {
  const fail = (message: string) => new EdgeloopError('BAD_REQUEST', `ONNX export: ${message}`);
  if (one !== undefined && many !== undefined) throw fail(`give ${what}Name or ${what}Names, not both`);
  if (one !== undefined && defaults.length !== 1) {
    throw fail(`${what}Name names one ${what}; the model has ${defaults.length} (use ${what}Names)`);
  }
  const names = one !== undefined ? [one] : (many ?? defaults);
  if (names.length !== defaults.length) {
    throw fail(`${names.length} ${what}Names for the model's ${defaults.length} ${what}s (${defaults.join(', ')})`);
  }
  if (names.some((n) => typeof n !== 'string' || n === '')) throw fail(`${what} names must be non-empty strings`);
  return [...names];
}

/**
 * Converts a tfjs-layers model (model.json + its weight shards, in weightsManifest order) into
 * ONNX ModelProto bytes (opset 13) that compute the same function at inference. Sequential and
 * functional models (DAGs with merges, several inputs and outputs) convert; weights may be
 * float32 or tfjs-quantized (uint8, uint16, float16; dequantized to float32). Inputs and outputs
 * keep tfjs's NHWC layout and shapes, with a dynamic batch dimension named "batch", so the same
 * flat float32 data runs on both. Throws EdgeloopError UNSUPPORTED_MODEL, naming the layer, for
 * anything it cannot translate faithfully, and BAD_REQUEST for options that do not fit the model.
 *
 * @example
 * const modelJson = parseModelJson(await (await fetch(`${base}/model.json`)).arrayBuffer(), 'model.json');
 * const weights = await (await fetch(`${base}/weights.bin`)).arrayBuffer();
 * const onnx = exportOnnx(modelJson, [weights], { inputName: 'image', outputName: 'probabilities' });
 * const session = await ort.InferenceSession.create(onnx);
 * // Several inputs/outputs: exportOnnx(modelJson, shards, { inputNames: ['image', 'meta'], outputNames: ['p'] })
 */
export function exportOnnx(
  modelJson: ModelJson,
  weightShards: readonly ArrayBuffer[],
  options: OnnxExportOptions = {},
): Uint8Array {
  const topology = readTopology(modelJson.modelTopology);
  const weights = new Weights(modelJson, weightShards);
  const tfjsInputs = topology.inputs.map((i) => i.name);
  const inputNames = endpointNames('input', tfjsInputs, options.inputName, options.inputNames);
  const outputNames = endpointNames('output', topology.outputs, options.outputName, options.outputNames);
  const all = [...inputNames, ...outputNames];
  const clash = all.find((name, i) => all.indexOf(name) !== i);
  if (clash !== undefined)
    throw new EdgeloopError('BAD_REQUEST', `ONNX export: two graph inputs/outputs are named "${clash}"`);
  const g = new GraphBuilder();
  for (const name of all) g.unique(name);
  // Each layer's output, by layer name (inputs by their tfjs name).
  const values = new Map<string, Value>();
  topology.inputs.forEach((input, i) => {
    values.set(input.name, { name: inputNames[i] as string, shape: input.shape, layout: 'nhwc' });
  });
  for (const { spec: layer, inputs } of topology.layers) {
    const xs = inputs.map((name) => values.get(name) as Value);
    const merge = Object.hasOwn(MERGES, layer.className) ? MERGES[layer.className] : undefined;
    const convert = Object.hasOwn(CONVERTERS, layer.className) ? CONVERTERS[layer.className] : undefined;
    if (merge) {
      values.set(layer.name, merge(g, layer, xs));
    } else if (convert) {
      if (xs.length !== 1) throw unsupported(layer, `${xs.length} inputs (the layer takes one)`);
      values.set(layer.name, convert(g, layer, xs[0] as Value, weights));
    } else {
      throw unsupported(layer, `layer class ${layer.className} (supported: ${SUPPORTED_LAYERS.join(', ')})`);
    }
  }
  const unused = weights.untaken();
  if (unused.length > 0) throw unsupported(undefined, `weights no supported layer uses: ${unused.join(', ')}`);
  const outputs = topology.outputs.map((layerName, i) => {
    const y = inLayout(g, values.get(layerName) as Value, 'nhwc');
    const name = outputNames[i] as string;
    g.node('Identity', [y.name], name, {}, name);
    return { name, shape: ['batch', ...y.shape] };
  });
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producerName: 'edgeloop',
    producerVersion: '1',
    docString: `Exported from the tfjs-layers model "${topology.modelName}" (${String(modelJson.generatedBy ?? 'tfjs-layers')}).`,
    graph: {
      name: topology.modelName,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: topology.inputs.map((input, i) => ({ name: inputNames[i] as string, shape: ['batch', ...input.shape] })),
      outputs,
    },
  });
}
