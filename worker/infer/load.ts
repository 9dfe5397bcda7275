import { EdgeloopError } from '../../protocol/errors.ts';
import { Resolution, VersionInfo } from '../../protocol/registry.ts';
import type { LoadResult } from '../../protocol/worker-api.ts';
import { pathSegments } from '../edge-client.ts';
import type { Runtime } from '../runtime.ts';
import { fetchVerified, pathsWithRole, storedFile } from './files.ts';
import { parseModelJson, weightPaths } from './model-artifacts.ts';
import { placeModel } from './place-model.ts';

/**
 * Resolves `alias` for this client, downloads and verifies the version's model files (from the
 * cache when their digest is there), builds the model, picks the backend, and only then swaps
 * it in: a failed load leaves the previous model serving.
 *
 * @example
 * const result = await loadModel(runtime, { model: 'digits', alias: 'production' });
 */
export async function loadModel(runtime: Runtime, request: { model: string; alias: string }): Promise<LoadResult> {
  const { edge, clientId } = runtime;
  const { model, alias } = request;
  const query = new URLSearchParams({ alias, client: clientId });
  const resolution = await edge.json(`/v1/models/${pathSegments(model)}/resolve?${query}`, Resolution);
  const info = await edge.json(`/v1/models/${pathSegments(model, 'versions', resolution.version)}`, VersionInfo);
  if (info.model !== model || info.version !== resolution.version) {
    throw new EdgeloopError(
      'EDGE_ERROR',
      `asked for ${model} v${resolution.version}, got ${info.model} v${info.version}`,
    );
  }

  const [modelPath, ...extra] = pathsWithRole(info, 'model');
  if (!modelPath || extra.length > 0) {
    throw new EdgeloopError('INVALID_MANIFEST', `${model} v${info.version} must have exactly one file with role model`);
  }
  const modelFile = await fetchVerified(runtime, info, storedFile(info, modelPath));
  const modelJson = parseModelJson(modelFile.bytes, modelPath);
  const shards = await Promise.all(
    weightPaths(modelJson, modelPath).map((path) => fetchVerified(runtime, info, storedFile(info, path))),
  );
  const cached = [modelFile, ...shards].filter((f) => f.cached).length;

  const loaded = await placeModel(
    runtime,
    modelJson,
    shards.map((s) => s.bytes),
    info,
    alias,
  );
  const previous = runtime.loaded;
  runtime.loaded = loaded;
  previous?.model.dispose();
  return { v: 1, model, alias, version: info.version, cached, backend: loaded.backend };
}
