import type * as tfl from '@tensorflow/tfjs-layers';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { ModelJson } from '../../protocol/model-json.ts';
import type { VersionInfo } from '../../protocol/registry.ts';
import type { BackendName } from '../../protocol/worker-api.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { buildModel } from './model-artifacts.ts';
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
  const built = new Map<BackendName, tfl.LayersModel>();
  let keep: BackendName | null = null;
  try {
    const report = await runtime.backends.choose(
      runtime.options.backend,
      runtime.env,
      runtime.backendConfig,
      async () => {
        const active = runtime.backends.active;
        if (active === null) throw new EdgeloopError('INTERNAL', 'no backend active while measuring');
        const model = built.get(active) ?? (await buildModel(modelJson, shards));
        built.set(active, model);
        return timePredicts(modelFacts(model, info, alias), WARMUP_RUNS);
      },
    );
    const model = built.get(report.backend);
    if (!model) throw new EdgeloopError('INTERNAL', `no model was built on ${report.backend}`);
    keep = report.backend;
    return { ...modelFacts(model, info, alias), backend: report };
  } finally {
    for (const [name, model] of built) if (name !== keep) model.dispose();
  }
}

function modelFacts(model: tfl.LayersModel, info: VersionInfo, alias: string): Omit<LoadedModel, 'backend'> {
  const inputShape = model.inputs[0]?.shape.slice(1) ?? [];
  const classes = model.outputs[0]?.shape.at(-1);
  if (inputShape.some((d) => d === null) || typeof classes !== 'number') {
    throw new EdgeloopError(
      'INVALID_MANIFEST',
      `${info.model} v${info.version}: input and output shapes must be fixed`,
    );
  }
  return {
    name: info.model,
    alias,
    version: info.version,
    info,
    model,
    inputShape: inputShape as number[],
    inputSize: (inputShape as number[]).reduce((a, b) => a * b, 1),
    classes,
    registry: model,
    personal: null,
  };
}
