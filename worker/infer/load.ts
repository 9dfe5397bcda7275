import { Resolution } from '../../protocol/registry.ts';
import type { LoadResult } from '../../protocol/worker-api.ts';
import { pathSegments } from '../edge-client.ts';
import type { Runtime } from '../runtime.ts';
import { placeModel } from './place-model.ts';
import { loadShadow } from './shadow.ts';
import { fetchVersionFiles } from './version-files.ts';

/**
 * Resolves `alias` for this client, downloads and verifies the version's model files (from the
 * cache when their digest is there), builds the model, picks the backend, and only then swaps
 * it in: a failed load leaves the previous model (and its shadow) serving. A shadow version the
 * edge assigns is loaded after that, so it never delays or fails the main load; its outcome is
 * in `shadow`.
 *
 * @example
 * const result = await loadModel(runtime, { model: 'digits', alias: 'production' });
 */
export async function loadModel(runtime: Runtime, request: { model: string; alias: string }): Promise<LoadResult> {
  const { edge, clientId } = runtime;
  const { model, alias } = request;
  const query = new URLSearchParams({ alias, client: clientId });
  const resolution = await edge.json(`/v1/models/${pathSegments(model)}/resolve?${query}`, Resolution);
  const { info, modelJson, shards, cached } = await fetchVersionFiles(runtime, model, resolution.version);

  const loaded = await placeModel(runtime, modelJson, shards, info, alias);
  const previous = runtime.loaded;
  runtime.loaded = loaded;
  previous?.model.dispose();
  const result: LoadResult = { v: 1, model, alias, version: info.version, cached, backend: loaded.backend };
  const shadow = await loadShadow(runtime, loaded, resolution.shadow);
  return shadow ? { ...result, shadow } : result;
}
