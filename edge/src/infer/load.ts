import { ErrorCode } from '../../../protocol/errors.ts';
import { parseModelJson, weightPaths } from '../../../protocol/model-json.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { readVerifiedBlob } from '../storage/verify.ts';
import { buildTfjsModel, type TfjsModel } from './tfjs.ts';

const broken = (message: string) => new ApiError(500, ErrorCode.INTERNAL, message);

/** A version's file from R2, checked against the digest the registry recorded. */
async function readVerified(bucket: R2Bucket, info: VersionInfo, path: string): Promise<ArrayBuffer> {
  const label = `${info.model} v${info.version}`;
  const file = info.files.find((f) => f.path === path);
  if (!file) throw broken(`${label} has no file "${path}"`);
  const bytes = await readVerifiedBlob(bucket, file.sha256, `${label} "${path}"`);
  return bytes.buffer;
}

/**
 * Loads a tfjs version (layers or graph) from the registry: model.json and its weight shards
 * from R2, each verified by sha256, built in memory. Returns the model and its files' size.
 *
 * @example
 * const { model, bytes } = await loadTfjsVersion(env.ARTIFACTS, info);
 */
export async function loadTfjsVersion(
  bucket: R2Bucket,
  info: VersionInfo,
): Promise<{ model: TfjsModel; bytes: number }> {
  const label = `${info.model} v${info.version}`;
  const { format } = info.manifest;
  if (format === 'onnx') throw broken(`${label} is an ONNX model: it runs on ONNX Runtime, not tfjs`);
  const modelPath = info.manifest.files.find((f) => f.role === 'model')?.path;
  if (!modelPath) throw broken(`${label} lists no file with role "model"`);
  let modelJson: ReturnType<typeof parseModelJson>;
  const modelBytes = await readVerified(bucket, info, modelPath);
  try {
    modelJson = parseModelJson(modelBytes, modelPath);
  } catch (error) {
    throw broken(`${label}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const shards = await Promise.all(weightPaths(modelJson, modelPath).map((path) => readVerified(bucket, info, path)));
  const model = await buildTfjsModel(format, modelJson, shards, label);
  return { model, bytes: shards.reduce((n, s) => n + s.byteLength, modelBytes.byteLength) };
}
