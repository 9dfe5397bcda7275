import { executeGraph } from '../../../models/formats/graph-run.ts';
import { type OnnxTensorInfo, readOnnx } from '../../../models/onnx/read.ts';
import type { Manifest, TensorDtype, TensorSpec } from '../../../protocol/manifest.ts';
import { parseModelJson, weightPaths } from '../../../protocol/model-json.ts';
import { CliError } from '../errors.ts';
import type { FolderModel } from './files.ts';

// A model's inputs and outputs as `edgeloop init` writes them into the manifest: read from the
// ONNX graph, or from the tfjs model loaded in Node and run on zeros (a layers model's output
// shapes, and a graph model's, which its GraphDef does not carry).

const SERVED: readonly string[] = ['float32', 'int32', 'int64', 'uint8', 'bool'] satisfies TensorDtype[];

const fail = (message: string) => new CliError(message, 1, 'INVALID_MODEL');

function dtypeOf(type: string, what: string): TensorDtype {
  if (SERVED.includes(type)) return type as TensorDtype;
  throw fail(`${what} is ${type}; Edgeloop serves ${SERVED.join(', ')}`);
}

/** A dimension as the manifest writes it: a size, or -1 for any (symbolic, unknown, the batch). */
const dim = (d: number | string | null | undefined, i: number) => (i === 0 || typeof d !== 'number' || d < 0 ? -1 : d);

function onnxSpec(t: OnnxTensorInfo, what: string): TensorSpec {
  if (!t.shape) throw fail(`${what} "${t.name}" has no known rank; give the graph's inputs and outputs shapes`);
  return { name: t.name, dtype: dtypeOf(t.elemType, `${what} "${t.name}"`), shape: t.shape.map(dim) };
}

function onnxSignature(found: FolderModel): Pick<Manifest, 'inputs' | 'outputs'> {
  const where = found.model;
  let graph: ReturnType<typeof readOnnx>;
  try {
    graph = readOnnx(found.bytes.get(where) ?? new Uint8Array(0));
  } catch (error) {
    throw fail(`${where}: ${(error as Error).message}`);
  }
  if (graph.externalData) throw fail(`${where} keeps weights in external data files; save it with its weights inside`);
  return {
    inputs: graph.inputs.map((t) => onnxSpec(t, `${where}: input`)),
    outputs: graph.outputs.map((t) => onnxSpec(t, `${where}: output`)),
  };
}

/** Sizes of unknown dimensions past the batch axis in the two trial runs: a size that follows them is -1. */
const TRIALS = [32, 33] as const;

async function tfjsSignature(found: FolderModel): Promise<Pick<Manifest, 'inputs' | 'outputs'>> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  // Quiet: no "install tfjs-node" banner in a command's output.
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const modelBytes = found.bytes.get(found.model) ?? new Uint8Array(0);
  const json = parseModelJson(modelBytes.slice().buffer, found.model);
  const artifacts: import('@tensorflow/tfjs-core').io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap(
      (g) => g.weights,
    ) as import('@tensorflow/tfjs-core').io.WeightsManifestEntry[],
    weightData: weightPaths(json, found.model).map((p) => (found.bytes.get(p) ?? new Uint8Array(0)).slice().buffer),
    ...(json.signature ? { signature: json.signature as object } : {}),
  };
  const where = found.model;
  try {
    const run = await tfjsRunner(tf, found.format, artifacts);
    try {
      const inputs = run.inputs.map((t) => ({
        name: t.name,
        dtype: dtypeOf(t.dtype, `${where}: input "${t.name}"`),
        shape: t.shape.map(dim).map((d, k) => (k === 0 ? -1 : d)),
      }));
      const trials = [];
      for (const size of TRIALS) {
        const feeds = inputs.map((spec) => {
          const shape = spec.shape.map((d, k) => (k === 0 ? 1 : d < 0 ? size : d));
          return tf.zeros(shape, spec.dtype === 'bool' ? 'bool' : spec.dtype === 'float32' ? 'float32' : 'int32');
        });
        const out = await run.predict(feeds);
        trials.push(out.map((o) => ({ shape: [...o.shape], dtype: o.dtype })));
        tf.dispose([...feeds, ...out]);
        if (!inputs.some((s) => s.shape.slice(1).includes(-1))) break;
      }
      const [first = [], second = first] = trials;
      const outputs = run.outputNames.map((name, i) => {
        const a = first[i];
        const b = second[i];
        if (!a || !b) throw fail(`${where}: the model answered no output ${i} ("${name}")`);
        return {
          name,
          dtype: dtypeOf(a.dtype, `${where}: output "${name}"`),
          shape: a.shape.map((d, k) => (k === 0 || d !== b.shape[k] ? -1 : d)),
        };
      });
      return { inputs, outputs };
    } finally {
      run.dispose();
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw fail(`${where}: tfjs cannot load or run it: ${(error as Error).message}`);
  }
}

type Tf = typeof import('@tensorflow/tfjs-core');

const record = (x: unknown): Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {};

/**
 * A layers model's input and output names as its topology gives them (tfjs's loaded
 * Sequential models list none, and its tensors' names are made unique per process): a
 * functional model's input and output layers; a Sequential model's InputLayer, or
 * `<first layer>_input` as tfjs names it, and its last layer.
 */
function layerNames(topology: unknown): { inputs: string[]; outputs: string[] } {
  const top = record(topology);
  const model = record(top.model_config ?? top);
  const config = record(model.config);
  const firsts = (list: unknown) => (Array.isArray(list) ? list.map((e) => String((e as unknown[])[0])) : []);
  if (model.class_name !== 'Sequential')
    return { inputs: firsts(config.input_layers), outputs: firsts(config.output_layers) };
  const layers = (Array.isArray(model.config) ? model.config : Array.isArray(config.layers) ? config.layers : []).map(
    record,
  );
  const name = (layer: Record<string, unknown> | undefined) => String(record(layer?.config).name ?? '');
  const [first] = layers;
  const input = first?.class_name === 'InputLayer' ? name(first) : `${name(first)}_input`;
  return { inputs: [input], outputs: [name(layers.at(-1))] };
}
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

/** A loaded tfjs model seen the same way for both formats: named inputs, output names, a run. */
interface Runner {
  inputs: { name: string; dtype: string; shape: (number | null)[] }[];
  outputNames: string[];
  predict(feeds: TfTensor[]): Promise<TfTensor[]>;
  dispose(): void;
}

async function tfjsRunner(
  tf: Tf,
  format: FolderModel['format'],
  artifacts: import('@tensorflow/tfjs-core').io.ModelArtifacts,
): Promise<Runner> {
  const list = (y: TfTensor | TfTensor[]) => (Array.isArray(y) ? y : [y]);
  if (format === 'tfjs-layers') {
    const tfl = await import('@tensorflow/tfjs-layers');
    const model = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    const names = layerNames(artifacts.modelTopology);
    return {
      inputs: model.inputs.map((t, i) => ({ name: names.inputs[i] ?? t.name, dtype: t.dtype, shape: t.shape })),
      outputNames: model.outputs.map((t, i) => names.outputs[i] ?? t.name),
      predict: async (feeds) => list(model.predict(feeds.length === 1 ? (feeds[0] as TfTensor) : feeds)),
      dispose: () => model.dispose(),
    };
  }
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  const model = await loadGraphModel(tf.io.fromMemory(artifacts));
  const names = model.inputNodes;
  return {
    inputs: model.inputs.map((t, i) => {
      if (!t.shape) throw fail(`the graph's input "${names[i]}" has no shape; a Placeholder needs one`);
      return { name: names[i] ?? t.name, dtype: t.dtype, shape: t.shape };
    }),
    outputNames: model.outputNodes,
    predict: (feeds) =>
      executeGraph(model, Object.fromEntries(names.map((n, i) => [n, feeds[i] as TfTensor])), model.outputNodes),
    dispose: () => model.dispose(),
  };
}

/**
 * The inputs and outputs of the model `findModel` found, for its manifest.
 *
 * @example
 * const { inputs, outputs } = await readSignature(await findModel(dir));
 */
export function readSignature(found: FolderModel): Promise<Pick<Manifest, 'inputs' | 'outputs'>> {
  return found.format === 'onnx' ? Promise.resolve(onnxSignature(found)) : tfjsSignature(found);
}
