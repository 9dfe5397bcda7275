import { ErrorCode } from '../../../protocol/errors.ts';
import { type ModelJson, parseModelJson, weightPaths } from '../../../protocol/model-json.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { readVerifiedBlob } from '../storage/verify.ts';
import type { RoundWeights } from './rows.ts';

/** A base version's model as a round reads it: model.json, its path, the one weights file. */
export interface RoundBase {
  modelJson: ModelJson;
  modelPath: string;
  weights: RoundWeights;
}

const unsupported = (message: string) => new ApiError(422, ErrorCode.UNSUPPORTED_MODEL, message);

/**
 * Checks that a version can be a round's base and reads what an update is ordered by: a
 * tfjs-layers model whose weights are all float32 (not quantized) in one weights file, so an
 * update is that file's values in order and the candidate is the file plus the aggregate.
 * Throws 422 UNSUPPORTED_MODEL otherwise.
 *
 * @example
 * const { weights } = await roundBase(env.ARTIFACTS, info); // { path: 'weights.bin', sha256, values: 30762 }
 */
export async function roundBase(bucket: R2Bucket, info: VersionInfo): Promise<RoundBase> {
  const label = `${info.model} v${info.version}`;
  if (info.manifest.format !== 'tfjs-layers') throw unsupported(`${label}: rounds train tfjs-layers models only`);
  const modelPath = info.manifest.files.find((f) => f.role === 'model')?.path;
  const modelFile = info.files.find((f) => f.path === modelPath);
  if (!modelPath || !modelFile) throw unsupported(`${label} has no model file`);
  const modelJson = parseModelJson((await readVerifiedBlob(bucket, modelFile.sha256, label)).buffer, modelPath);
  const paths = weightPaths(modelJson, modelPath);
  const [path] = paths;
  if (paths.length !== 1 || !path)
    throw unsupported(`${label}: rounds need the weights in one file (has ${paths.length})`);
  const file = info.files.find((f) => f.path === path);
  if (!file) throw unsupported(`${label} lists no file "${path}"`);
  let values = 0;
  for (const weight of modelJson.weightsManifest.flatMap((group) => group.weights)) {
    if (weight.dtype !== 'float32' || 'quantization' in weight) {
      throw unsupported(
        `${label}: weight ${weight.name} is ${weight.dtype}${'quantization' in weight ? ' quantized' : ''}; rounds need float32 weights`,
      );
    }
    values += weight.shape.reduce((n, d) => n * d, 1);
  }
  if (values * 4 !== file.size)
    throw unsupported(`${label}: ${path} has ${file.size} bytes, its weights ${values * 4}`);
  return { modelJson, modelPath, weights: { path, sha256: file.sha256, values } };
}
