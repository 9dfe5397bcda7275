import { EdgeloopError } from '../../protocol/errors.ts';
import { Resolution, type VersionInfo } from '../../protocol/registry.ts';
import type { LoadResult } from '../../protocol/worker-api.ts';
import { pathSegments } from '../edge-client.ts';
import type { Runtime } from '../runtime.ts';
import { releaseModel, restorePersonal } from '../train/personal.ts';
import { loadOnnxVersion } from './onnx-place.ts';
import { placeModel } from './place-model.ts';
import { loadShadow } from './shadow.ts';
import { fetchVersionFiles, fetchVersionInfo } from './version-files.ts';

/**
 * Resolves `alias` for this client, downloads and verifies the version's model files (from the
 * cache when their digest is there), builds the model of its format — tfjs layers or graph on
 * tfjs, ONNX (or with init `runtime: 'onnx'` a tfjs version's ONNX export) on ONNX Runtime
 * Web — picks the backend, and only then swaps
 * it in: a failed load leaves the previous model (and its shadow) serving. A shadow version the
 * edge assigns is loaded after that, so it never delays or fails the main load; its outcome is
 * in `shadow`. A personal fine-tune stored for this version serves at once; one stored for
 * another version is dropped (`personal.dropped`: the caller may replay its labels).
 *
 * @example
 * const result = await loadModel(runtime, { model: 'digits', alias: 'production' });
 */
export async function loadModel(
  runtime: Runtime,
  request: { model: string; alias: string },
  resolved?: Resolution,
): Promise<LoadResult> {
  const { model, alias } = request;
  const resolution = resolved ?? (await resolveAlias(runtime, model, alias, null));
  if (!resolution) throw new EdgeloopError('EDGE_ERROR', `resolve ${model}/${alias}: 304 without If-None-Match`);
  const known = await fetchVersionInfo(runtime, model, resolution.version);
  const { loaded, cached } =
    runtime.options.runtime === 'onnx' || known.manifest.format === 'onnx'
      ? await loadOnnxVersion(runtime, model, resolution.version, alias, known)
      : await loadTfjsVersion(runtime, known, alias);
  const { info } = loaded;
  // Before the swap: a stored fine-tune of this version serves from the first predict on.
  const personal =
    runtime.options.runtime === 'onnx' || info.manifest.format !== 'tfjs-layers'
      ? { restored: false }
      : await restorePersonal(runtime, loaded).catch((error: unknown) => {
          // The registry weights still serve: a fine-tune that cannot be read is reported, not fatal.
          loaded.personalNote = `the personal fine-tune could not be restored: ${EdgeloopError.from(error)}`;
          return { restored: false };
        });
  if (personal.stale) {
    loaded.personalNote = `the personal fine-tune of v${personal.stale.baseVersion} was dropped: a fine-tune never serves on another version`;
  }
  const previous = runtime.loaded;
  runtime.loaded = loaded;
  if (previous) releaseModel(previous);
  const result: LoadResult = {
    v: 1,
    model,
    alias,
    version: info.version,
    cached,
    backend: loaded.backend,
    personal: { restored: personal.restored, ...(personal.stale ? { dropped: personal.stale.baseVersion } : {}) },
  };
  const shadow = await loadShadow(runtime, loaded, resolution.shadow);
  return shadow ? { ...result, shadow } : result;
}

async function loadTfjsVersion(runtime: Runtime, known: VersionInfo, alias: string) {
  const { info, modelJson, shards, cached } = await fetchVersionFiles(runtime, known.model, known.version, known);
  return { loaded: await placeModel(runtime, modelJson, shards, info, alias), cached };
}

/**
 * `GET /v1/models/{model}/resolve` for this client (by its issued id once registered), sending
 * `etag` as If-None-Match: null when the edge answered 304. A reply's ETag is remembered in
 * `runtime.resolveEtags` for the next check.
 *
 * @example
 * const resolution = await resolveAlias(runtime, 'digits', 'production', null);
 */
export async function resolveAlias(
  runtime: Runtime,
  model: string,
  alias: string,
  etag: string | null,
): Promise<Resolution | null> {
  const query = new URLSearchParams({ alias });
  if (runtime.identity) query.set('client', runtime.identity.clientId);
  const path = `/v1/models/${pathSegments(model)}/resolve?${query}`;
  const reply = await runtime.edge.conditional(path, Resolution, etag);
  if (!reply) return null;
  if (reply.etag) runtime.resolveEtags.set(`${model}/${alias}`, reply.etag);
  return reply.value;
}
