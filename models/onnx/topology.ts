import { type LayerSpec, unsupported } from './layer-spec.ts';

/** A model as a chain of layers from one input to one output (what the exporter handles). */
export interface Chain {
  modelName: string;
  /** The tfjs input's name and shape without the batch dimension. */
  input: { name: string; shape: number[] };
  /** The layers after the input, in order. */
  layers: LayerSpec[];
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Reads a `modelTopology` (Sequential, or a functional Model whose layers form a single chain)
 * into a {@link Chain}. Branches, merges, shared layers and nested models are refused.
 */
export function readChain(topology: Json): Chain {
  // Keras-converted files nest the model under model_config; tfjs saves it at the top.
  const model = isObject(topology.model_config) ? topology.model_config : topology;
  const className = model.class_name;
  const config = model.config;
  if (className === 'Sequential') return sequential(config);
  if ((className === 'Model' || className === 'Functional') && isObject(config)) return functional(config);
  throw unsupported(undefined, `model class ${JSON.stringify(className)} (only Sequential and functional Model)`);
}

function layerSpec(raw: unknown): LayerSpec {
  if (!isObject(raw) || typeof raw.class_name !== 'string' || !isObject(raw.config)) {
    throw unsupported(undefined, 'a layer without class_name/config');
  }
  const name = raw.config.name ?? raw.name;
  if (typeof name !== 'string') throw unsupported(undefined, `a ${raw.class_name} layer without a name`);
  return { className: raw.class_name, name, config: raw.config };
}

function sequential(config: unknown): Chain {
  // Old Keras files store the layer list itself as the config.
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers)) throw unsupported(undefined, 'Sequential model without layers');
  const layers = rawLayers.map(layerSpec);
  const first = layers[0];
  if (!first) throw unsupported(undefined, 'Sequential model without layers');
  const modelName = isObject(config) && typeof config.name === 'string' ? config.name : 'model';
  // tfjs names a Sequential model's implicit input after its first layer.
  const isInput = first.className === 'InputLayer';
  const input = { name: isInput ? first.name : `${first.name}_input`, shape: inputShape(first) };
  const rest = isInput ? layers.slice(1) : layers;
  if (rest.length === 0) throw unsupported(undefined, 'the model has no layers after its input');
  return { modelName, input, layers: rest };
}

function functional(config: Json): Chain {
  const rawLayers = Array.isArray(config.layers) ? config.layers : [];
  const byName = new Map<string, { spec: LayerSpec; inbound: unknown }>();
  for (const raw of rawLayers) {
    const spec = layerSpec(raw);
    byName.set(spec.name, { spec, inbound: isObject(raw) ? raw.inbound_nodes : undefined });
  }
  const inputs = endpoints(config.input_layers, 'input');
  const outputs = endpoints(config.output_layers, 'output');
  const inputLayer = byName.get(inputs)?.spec;
  if (inputLayer?.className !== 'InputLayer') throw unsupported(undefined, `input ${inputs} not found`);
  // Walk back from the output: every layer must have exactly one inbound tensor.
  const chain: LayerSpec[] = [];
  for (let name = outputs; name !== inputs; ) {
    const entry = byName.get(name);
    if (!entry) throw unsupported(undefined, `layer ${name} not found`);
    if (chain.includes(entry.spec)) throw unsupported(entry.spec, 'the graph has a cycle');
    chain.unshift(entry.spec);
    name = singleInbound(entry.spec, entry.inbound);
  }
  if (chain.length === 0) throw unsupported(undefined, 'the model has no layers after its input');
  if (chain.length + 1 !== byName.size) {
    const used = new Set([inputs, ...chain.map((l) => l.name)]);
    const extra = [...byName.keys()].filter((n) => !used.has(n));
    throw unsupported(undefined, `only single-chain models; layers off the input→output path: ${extra.join(', ')}`);
  }
  const modelName = typeof config.name === 'string' ? config.name : 'model';
  return { modelName, input: { name: inputs, shape: inputShape(inputLayer) }, layers: chain };
}

/** The one layer name in `input_layers`/`output_layers` ([[name, node, tensor]]). */
function endpoints(raw: unknown, what: string): string {
  if (!Array.isArray(raw) || raw.length !== 1 || !Array.isArray(raw[0]) || typeof raw[0][0] !== 'string') {
    throw unsupported(undefined, `exactly one model ${what} is supported`);
  }
  return raw[0][0];
}

/** The name of the layer feeding `layer`; refuses merges and layers applied more than once. */
function singleInbound(layer: LayerSpec, inbound: unknown): string {
  if (!Array.isArray(inbound) || inbound.length !== 1) {
    throw unsupported(layer, 'layers called more than once (shared layers) are not supported');
  }
  const node = inbound[0];
  if (!Array.isArray(node) || node.length !== 1 || !Array.isArray(node[0]) || typeof node[0][0] !== 'string') {
    throw unsupported(layer, 'layers with several inputs (merges) are not supported');
  }
  return node[0][0];
}

/** The input shape without batch; every dimension must be known (padding and Flatten need it). */
function inputShape(layer: LayerSpec): number[] {
  const dtype = layer.config.dtype ?? 'float32';
  if (dtype !== 'float32') throw unsupported(layer, `input dtype ${String(dtype)} (only float32)`);
  const batchShape = layer.config.batch_input_shape;
  if (!Array.isArray(batchShape)) throw unsupported(layer, 'the first layer has no batch_input_shape');
  const shape = batchShape.slice(1);
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw unsupported(layer, `input shape ${JSON.stringify(batchShape)} must be fully known apart from the batch`);
  }
  return shape as number[];
}
