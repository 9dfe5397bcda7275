import type { RefreshResult } from '../../protocol/worker-api.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { loadModel, resolveAlias } from './load.ts';

/**
 * Checks whether the loaded model's alias names another version now. With the ETag of the last
 * resolve (the edge sends one) the check is `If-None-Match` (304: unchanged); without one it
 * compares the resolved version (and shadow) with the loaded ones. A change is loaded
 * like `load` does (files verified by sha256, swapped in only once built: the previous model
 * keeps serving until then, and the caller runs this in the model queue, between predictions).
 *
 * @example
 * const { changed, version } = await refreshModel(runtime, runtime.loaded);
 */
export async function refreshModel(runtime: Runtime, loaded: LoadedModel): Promise<RefreshResult> {
  const { name: model, alias } = loaded;
  const etag = runtime.resolveEtags.get(`${model}/${alias}`) ?? null;
  const unchanged = { v: 1, model, alias, version: loaded.version, changed: false } as const;
  const resolution = await resolveAlias(runtime, model, alias, etag);
  if (!resolution) return { ...unchanged, checkedBy: 'etag' };
  const shadowVersion = runtime.shadow?.version;
  if (resolution.version === loaded.version && resolution.shadow === shadowVersion) {
    return { ...unchanged, checkedBy: 'version' };
  }
  const load = await loadModel(runtime, { model, alias }, resolution);
  return { v: 1, model, alias, version: load.version, changed: true, checkedBy: 'version', load };
}
