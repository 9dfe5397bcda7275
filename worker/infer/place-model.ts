import type { GraphModel } from '@tensorflow/tfjs-converter';
import type * as tfl from '@tensorflow/tfjs-layers';
import { trialShape } from '../../models/formats/trial.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { ModelJson } from '../../protocol/model-json.ts';
import type { VersionInfo } from '../../protocol/registry.ts';
import type { BackendName } from '../../protocol/worker-api.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { buildGraph, buildModel } from './model-artifacts.ts';
import { predictOnly } from './predict-only.ts';
import { timePredicts } from './run-model.ts';

/** Predicts per backend in the warm-up; enough to see a 20× gap, short enough to load fast. */
const WARMUP_RUNS = 5;

/**
 * Builds the model on the backend the init preference selects (`auto`: the fastest measured).
 * Every backend tried gets its own copy of the weights, built while it is active, and the
 * losers' copies are disposed: tensors are never moved between backends, because tfjs moves
 * them with a synchronous read, and a synchronous read from WebGPU in a worker returned zeros
 * (SwiftShader in Chromium), silently zeroing the weights.
 *
 * @example
 * const loaded = await placeModel(runtime, modelJson, shards, info, 'production');
 */
export async function placeModel(
  runtime: Runtime,
  modelJson: ModelJson,
  shards: ArrayBuffer[],
  info: VersionInfo,
  alias: string,
): Promise<LoadedModel> {
  const graph = info.manifest.format === 'tfjs-graph';
  const built = new Map<BackendName, Omit<LoadedModel, 'backend'>>();
  let keep: BackendName | null = null;
  try {
    const report = await runtime.backends.choose(
      runtime.options.backend,
      runtime.env,
      runtime.backendConfig,
      async () => {
        const active = runtime.backends.active;
        if (active === null) throw new EdgeloopError('INTERNAL', 'no backend active while measuring');
        let facts = built.get(active);
        if (!facts) {
          facts = graph
            ? graphFacts(await buildGraph(modelJson, shards), info, alias)
            : modelFacts(await buildModel(modelJson, shards), info, alias);
          built.set(active, facts);
        }
        return timePredicts(facts, WARMUP_RUNS);
      },
    );
    const facts = built.get(report.backend);
    if (!facts) throw new EdgeloopError('INTERNAL', `no model was built on ${report.backend}`);
    keep = report.backend;
    return { ...facts, backend: report };
  } finally {
    for (const [name, facts] of built) if (name !== keep) disposeFacts(facts);
  }
}

function disposeFacts(facts: Pick<LoadedModel, 'model' | 'graph'>): void {
  facts.graph?.dispose();
  facts.model.dispose();
}

function modelFacts(model: tfl.LayersModel, info: VersionInfo, alias: string): Omit<LoadedModel, 'backend'> {
  const inputShape = model.inputs[0]?.shape.slice(1) ?? [];
  const classes = model.outputs[0]?.shape.at(-1);
  if (inputShape.some((d) => d === null) || typeof classes !== 'number') {
    model.dispose();
    throw new EdgeloopError(
      'INVALID_MANIFEST',
      `${info.model} v${info.version}: input and output shapes must be fixed`,
    );
  }
  return servedFacts(info, alias, { model, signature: info.manifest, inputShape: inputShape as number[], classes });
}

/**
 * A graph model's facts, read off the manifest (a GraphDef's shapes are not its own): the first
 * input's sizes (free ones TRIAL_DIM, for the warm-up) and the first output's last size. Its
 * `model` is a stand-in whose `dispose` frees the graph (predict-only.ts).
 */
function graphFacts(graph: GraphModel, info: VersionInfo, alias: string): Omit<LoadedModel, 'backend'> {
  const { manifest } = info;
  const first = manifest.inputs[0];
  const model = predictOnly(`${info.model} v${info.version} is a tfjs-graph model`, () => graph.dispose());
  return servedFacts(info, alias, {
    model,
    graph,
    signature: manifest,
    inputShape: first ? trialShape(first).slice(1) : [],
    classes: Math.max(manifest.outputs[0]?.shape.at(-1) ?? 0, 0),
  });
}

/**
 * What serves a version, of any format: the runnable parts and the version's facts, with the
 * registry weights serving (no personal fine-tune yet).
 *
 * @example
 * const facts = servedFacts(info, 'production', { model, signature: info.manifest, inputShape: [28, 28, 1], classes: 10 });
 */
export function servedFacts(
  info: VersionInfo,
  alias: string,
  parts: Pick<LoadedModel, 'model' | 'signature' | 'inputShape' | 'classes' | 'graph' | 'onnx'>,
): Omit<LoadedModel, 'backend'> {
  return {
    ...parts,
    name: info.model,
    alias,
    version: info.version,
    info,
    inputSize: parts.inputShape.reduce((a, b) => a * b, 1),
    registry: parts.model,
    personal: null,
  };
}
