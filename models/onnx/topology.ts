import { type LayerSpec, unsupported } from './layer-spec.ts';

/** One layer of the model with the layers whose outputs it takes, in call order. */
export interface GraphLayer {
  spec: LayerSpec;
  inputs: string[];
}

/** A model as a graph of layers from its inputs to its outputs (what the exporter handles). */
export interface Topology {
  modelName: string;
  /** The tfjs inputs (InputLayer names, or `<first layer>_input`) and shapes without the batch dimension. */
  inputs: { name: string; shape: number[] }[];
  /** The layers after the inputs, each after every layer it takes an output of. */
  layers: GraphLayer[];
  /** The names of the layers whose outputs are the model's, in the model's order. */
  outputs: string[];
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

const MODEL_CLASSES = ['Sequential', 'Model', 'Functional'];

/**
 * Reads a `modelTopology` (Sequential, or a functional Model: a DAG of single-use layers, with
 * merges, several inputs and several outputs) into a {@link Topology}. Shared layers, nested
 * models, cycles and layers that feed no output are refused.
 *
 * @example
 * const { inputs, layers, outputs } = readTopology(modelJson.modelTopology);
 */
export function readTopology(topology: Json): Topology {
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
  const spec = { className: raw.class_name, name, config: raw.config };
  if (MODEL_CLASSES.includes(spec.className)) throw unsupported(spec, 'nested models are not supported');
  return spec;
}

function sequential(config: unknown): Topology {
  // Old Keras files store the layer list itself as the config.
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers)) throw unsupported(undefined, 'Sequential model without layers');
  const specs = rawLayers.map(layerSpec);
  const first = specs[0];
  if (!first) throw unsupported(undefined, 'Sequential model without layers');
  const modelName = isObject(config) && typeof config.name === 'string' ? config.name : 'model';
  // tfjs names a Sequential model's implicit input after its first layer.
  const isInput = first.className === 'InputLayer';
  const input = { name: isInput ? first.name : `${first.name}_input`, shape: inputShape(first) };
  const rest = isInput ? specs.slice(1) : specs;
  const last = rest.at(-1);
  if (!last) throw unsupported(undefined, 'the model has no layers after its input');
  const layers = rest.map((spec, i) => ({ spec, inputs: [i === 0 ? input.name : (rest[i - 1] as LayerSpec).name] }));
  return { modelName, inputs: [input], layers, outputs: [last.name] };
}

function functional(config: Json): Topology {
  const rawLayers = Array.isArray(config.layers) ? config.layers : [];
  const byName = new Map<string, GraphLayer>();
  for (const raw of rawLayers) {
    const spec = layerSpec(raw);
    if (byName.has(spec.name)) throw unsupported(spec, 'two layers have this name');
    const inputs = spec.className === 'InputLayer' ? [] : inboundLayers(spec, isObject(raw) ? raw.inbound_nodes : []);
    byName.set(spec.name, { spec, inputs });
  }
  const inputNames = endpoints(config.input_layers, 'input');
  const inputs = inputNames.map((name) => {
    const spec = byName.get(name)?.spec;
    if (spec?.className !== 'InputLayer') throw unsupported(undefined, `model input ${name} is not an InputLayer`);
    return { name, shape: inputShape(spec) };
  });
  const outputs = endpoints(config.output_layers, 'output');
  // Depth-first from the outputs, so each layer comes after the layers it takes.
  const layers: GraphLayer[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, from: string): void => {
    if (state.get(name) === 'done' || inputNames.includes(name)) return;
    const layer = byName.get(name);
    if (!layer) throw unsupported(undefined, `layer ${name} (an input of ${from}) not found`);
    if (layer.spec.className === 'InputLayer') throw unsupported(layer.spec, 'an InputLayer not in input_layers');
    if (state.get(name) === 'visiting') throw unsupported(layer.spec, 'the graph has a cycle');
    state.set(name, 'visiting');
    for (const input of layer.inputs) visit(input, name);
    state.set(name, 'done');
    layers.push(layer);
  };
  for (const name of outputs) visit(name, 'the model outputs');
  const extra = [...byName.values()].filter((l) => l.spec.className !== 'InputLayer' && !state.has(l.spec.name));
  if (extra.length > 0) {
    throw unsupported(undefined, `layers that feed no model output: ${extra.map((l) => l.spec.name).join(', ')}`);
  }
  const modelName = typeof config.name === 'string' ? config.name : 'model';
  return { modelName, inputs, layers, outputs };
}

/** The distinct layer names in `input_layers`/`output_layers` ([[name, node, tensor], …]). */
function endpoints(raw: unknown, what: string): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw unsupported(undefined, `the model lists no ${what}s`);
  const names = raw.map((entry) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') {
      throw unsupported(undefined, `model ${what} ${JSON.stringify(entry)} is not [layer, node, tensor]`);
    }
    if ((entry[1] ?? 0) !== 0 || (entry[2] ?? 0) !== 0) {
      throw unsupported(undefined, `model ${what} ${JSON.stringify(entry)}: only a layer's first call and output`);
    }
    return entry[0];
  });
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw unsupported(undefined, `layer ${repeated} is listed twice as a model ${what}`);
  return names;
}

/**
 * The layers feeding `layer`'s one call: inbound_nodes is [[[name, node, tensor, kwargs], …]].
 * Refuses layers called more than once (shared layers) and calls with keyword arguments.
 */
function inboundLayers(layer: LayerSpec, inbound: unknown): string[] {
  if (!Array.isArray(inbound) || inbound.length !== 1) {
    const calls = Array.isArray(inbound) ? inbound.length : 0;
    throw unsupported(layer, `called ${calls} times; only layers called once (no shared layers) are supported`);
  }
  const node = inbound[0];
  if (!Array.isArray(node) || node.length === 0)
    throw unsupported(layer, 'inbound_nodes is not [[layer, node, tensor, kwargs], …]');
  return node.map((entry: unknown) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') {
      throw unsupported(layer, `inbound entry ${JSON.stringify(entry)} is not [layer, node, tensor, kwargs]`);
    }
    if ((entry[1] ?? 0) !== 0 || (entry[2] ?? 0) !== 0) {
      throw unsupported(layer, `takes ${JSON.stringify(entry.slice(0, 3))}: only a layer's first call and output`);
    }
    const kwargs = entry[3] ?? {};
    // `training` changes nothing at inference; other keyword arguments (mask, …) would.
    const keys = isObject(kwargs) ? Object.keys(kwargs).filter((k) => k !== 'training') : ['?'];
    if (keys.length > 0) throw unsupported(layer, `call arguments ${JSON.stringify(kwargs)}`);
    return entry[0];
  });
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
