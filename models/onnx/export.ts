import { EdgeloopError } from '../../protocol/errors.ts';
import type { ModelJson } from '../../protocol/model-json.ts';
import { averagePooling2d, conv2d, globalAveragePooling2d, globalMaxPooling2d, maxPooling2d } from './conv-pool.ts';
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
import { type Converter, GraphBuilder, inLayout, type Value } from './graph.ts';
import { unsupported } from './layer-spec.ts';
import { encodeModel } from './onnx-proto.ts';
import { readChain } from './topology.ts';
import { Weights } from './weights.ts';

/** tfjs-layers class names the exporter converts. */
const CONVERTERS: Record<string, Converter> = {
  Dense: dense,
  Conv2D: conv2d,
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

/** The layer classes {@link exportOnnx} supports. */
export const SUPPORTED_LAYERS = ['InputLayer', ...Object.keys(CONVERTERS)];

/** The ONNX operator set and IR version the export targets (ORT Web runs both). */
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Graph input name; default the tfjs input's (the InputLayer, or `<first layer>_input`). */
  inputName?: string;
  /** Graph output name; default the last layer's. */
  outputName?: string;
}

/**
 * Converts a tfjs-layers model (model.json + its weight shards, in weightsManifest order) into
 * ONNX ModelProto bytes (opset 13) that compute the same function at inference. Input and
 * output keep tfjs's NHWC layout and shapes, with a dynamic batch dimension named "batch", so
 * the same flat float32 data runs on both. Throws EdgeloopError UNSUPPORTED_MODEL, naming the
 * layer, for anything it cannot translate faithfully.
 *
 * @example
 * const modelJson = parseModelJson(await (await fetch(`${base}/model.json`)).arrayBuffer(), 'model.json');
 * const weights = await (await fetch(`${base}/weights.bin`)).arrayBuffer();
 * const onnx = exportOnnx(modelJson, [weights], { inputName: 'image', outputName: 'probabilities' });
 * const session = await ort.InferenceSession.create(onnx);
 */
export function exportOnnx(
  modelJson: ModelJson,
  weightShards: readonly ArrayBuffer[],
  options: OnnxExportOptions = {},
): Uint8Array {
  const chain = readChain(modelJson.modelTopology);
  const weights = new Weights(modelJson, weightShards);
  const last = chain.layers.at(-1);
  const inputName = options.inputName ?? chain.input.name;
  const outputName = options.outputName ?? last?.name ?? 'output';
  if (inputName === outputName) {
    throw new EdgeloopError('BAD_REQUEST', `ONNX export: input and output are both named "${inputName}"`);
  }
  const g = new GraphBuilder();
  g.unique(inputName);
  g.unique(outputName);
  let x: Value = { name: inputName, shape: chain.input.shape, layout: 'nhwc' };
  for (const layer of chain.layers) {
    const convert = Object.hasOwn(CONVERTERS, layer.className) ? CONVERTERS[layer.className] : undefined;
    if (!convert) {
      throw unsupported(layer, `layer class ${layer.className} (supported: ${SUPPORTED_LAYERS.join(', ')})`);
    }
    x = convert(g, layer, x, weights);
  }
  const unused = weights.untaken();
  if (unused.length > 0) throw unsupported(undefined, `weights no supported layer uses: ${unused.join(', ')}`);
  x = inLayout(g, x, 'nhwc');
  g.node('Identity', [x.name], outputName, {}, outputName);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producerName: 'edgeloop',
    producerVersion: '1',
    docString: `Exported from the tfjs-layers model "${chain.modelName}" (${String(modelJson.generatedBy ?? 'tfjs-layers')}).`,
    graph: {
      name: chain.modelName,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: inputName, shape: ['batch', ...chain.input.shape] }],
      outputs: [{ name: outputName, shape: ['batch', ...x.shape] }],
    },
  });
}
