import { EdgeloopError } from '../../protocol/errors.ts';
import { type ModelJson, parseModelJson } from '../../protocol/model-json.ts';
import { VersionInfo } from '../../protocol/registry.ts';
import { pathSegments } from '../edge-client.ts';
import { fetchVerified, pathsWithRole, storedFile } from '../infer/files.ts';
import { buildModel } from '../infer/model-artifacts.ts';
import { fetchVersionFiles } from '../infer/version-files.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';

/** Runs work that touches a model in the worker's model queue (see participate.ts). */
export type Step = <T>(work: () => Promise<T>) => Promise<T>;

/** A round's base version as a model to fine-tune, with its model.json (the update's layout). */
export interface RoundBase {
  model: LoadedModel;
  modelJson: ModelJson;
  /** Frees a downloaded base; the loaded model is left alone. */
  release(): void;
}

/**
 * The base version's registry entry: the loaded version's, else the edge's.
 *
 * @example
 * const info = await baseInfo(runtime, loaded, round.baseVersion);
 */
export async function baseInfo(runtime: Runtime, loaded: LoadedModel, version: number): Promise<VersionInfo> {
  if (version === loaded.version) return loaded.info;
  const info = await runtime.edge.json(`/v1/models/${pathSegments(loaded.name, 'versions', version)}`, VersionInfo);
  if (info.model !== loaded.name || info.version !== version) {
    throw new EdgeloopError('EDGE_ERROR', `asked for ${loaded.name} v${version}, got ${info.model} v${info.version}`);
  }
  return info;
}

/**
 * The base to fine-tune: the loaded model (its registry weights, whatever personal fine-tune
 * serves) when the round is on the loaded version; otherwise that version, downloaded through
 * the load path's checks (each file verified by sha256, cached by digest) and built on the
 * active backend in `step`, apart from the served model.
 *
 * @example
 * const base = await roundBase(runtime, loaded, info, step);
 * try { … } finally { base.release(); }
 */
export async function roundBase(
  runtime: Runtime,
  loaded: LoadedModel,
  info: VersionInfo,
  step: Step,
): Promise<RoundBase> {
  if (info.version === loaded.version) {
    const [path] = pathsWithRole(info, 'model');
    if (!path)
      throw new EdgeloopError('INVALID_MANIFEST', `${info.model} v${info.version} has no file with role model`);
    const { bytes } = await fetchVerified(runtime, info, storedFile(info, path));
    return { model: loaded, modelJson: parseModelJson(bytes, path), release: () => undefined };
  }
  const files = await fetchVersionFiles(runtime, info.model, info.version);
  const model = await step(() => buildModel(files.modelJson, files.shards));
  const inputShape = model.inputs[0]?.shape.slice(1) ?? [];
  const classes = model.outputs[0]?.shape.at(-1);
  if (inputShape.some((d) => d === null) || typeof classes !== 'number') {
    model.dispose();
    throw new EdgeloopError(
      'INVALID_MANIFEST',
      `${info.model} v${info.version}: input and output shapes must be fixed`,
    );
  }
  const shape = inputShape as number[];
  return {
    model: {
      ...loaded,
      version: info.version,
      info: files.info,
      model,
      registry: model,
      inputShape: shape,
      inputSize: shape.reduce((a, b) => a * b, 1),
      classes,
      personal: null,
      head: undefined,
      learning: undefined,
    },
    modelJson: files.modelJson,
    release: () => model.dispose(),
  };
}
