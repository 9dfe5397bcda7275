import { EdgeloopError } from '../../protocol/errors.ts';
import { type ModelJson, parseModelJson, weightPaths } from '../../protocol/model-json.ts';
import { VersionInfo } from '../../protocol/registry.ts';
import { pathSegments } from '../edge-client.ts';
import type { Runtime } from '../runtime.ts';
import { fetchVerified, pathsWithRole, storedFile } from './files.ts';

/** A version's model files, verified and ready to build. */
export interface VersionFiles {
  info: VersionInfo;
  modelJson: ModelJson;
  shards: ArrayBuffer[];
  /** Files taken from the IndexedDB cache rather than the network. */
  cached: number;
}

/**
 * Fetches a version's info and its model files (model.json and weight shards), each verified by
 * sha256 and cached by digest. Used for both the served model and the shadow, so both get the
 * same checks.
 *
 * @example
 * const { info, modelJson, shards } = await fetchVersionFiles(runtime, 'digits', 3);
 */
export async function fetchVersionFiles(
  runtime: Pick<Runtime, 'db' | 'edge'>,
  model: string,
  version: number,
  known?: VersionInfo,
): Promise<VersionFiles> {
  const info = known ?? (await fetchVersionInfo(runtime, model, version));
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
  return { info, modelJson, shards: shards.map((s) => s.bytes), cached };
}

/**
 * Fetches a version's ONNX file — an ONNX version's model, else its ONNX export (role `onnx`) —
 * verified by sha256 and cached by digest like the tfjs files. INVALID_MANIFEST when the version
 * has none (or several).
 *
 * @example
 * const { info, bytes, cached } = await fetchOnnxFile(runtime, 'digits', 3);
 */
export async function fetchOnnxFile(
  runtime: Pick<Runtime, 'db' | 'edge'>,
  model: string,
  version: number,
  known?: VersionInfo,
): Promise<{ info: VersionInfo; bytes: ArrayBuffer; cached: number }> {
  const info = known ?? (await fetchVersionInfo(runtime, model, version));
  const [onnxPath, ...extra] = pathsWithRole(info, info.manifest.format === 'onnx' ? 'model' : 'onnx');
  if (!onnxPath || extra.length > 0) {
    throw new EdgeloopError(
      'INVALID_MANIFEST',
      `${model} v${version} must have exactly one file with role onnx to run with runtime 'onnx'`,
    );
  }
  const file = await fetchVerified(runtime, info, storedFile(info, onnxPath));
  return { info, bytes: file.bytes, cached: file.cached ? 1 : 0 };
}

/**
 * A version's info (manifest and stored files) from the registry.
 *
 * @example
 * const info = await fetchVersionInfo(runtime, 'digits', 3);
 */
export async function fetchVersionInfo(
  runtime: Pick<Runtime, 'edge'>,
  model: string,
  version: number,
): Promise<VersionInfo> {
  const info = await runtime.edge.json(`/v1/models/${pathSegments(model, 'versions', version)}`, VersionInfo);
  if (info.model !== model || info.version !== version) {
    throw new EdgeloopError('EDGE_ERROR', `asked for ${model} v${version}, got ${info.model} v${info.version}`);
  }
  return info;
}
