import { ErrorCode } from '../../../protocol/errors.ts';
import type { Manifest } from '../../../protocol/manifest.ts';
import { ApiError } from '../http/api-error.ts';
import { onnxModelProblem } from './onnx.ts';
import { layersModelProblem } from './tfjs-layers.ts';

const invalidModel = (message: string) => new ApiError(400, ErrorCode.INVALID_MODEL, message);

/**
 * Checks that the model files of a version about to be published are models of their format,
 * before anything is stored: a tfjs-layers version has one file with role `model`, a
 * model.json whose weights manifest names exactly its `weights` files and whose weights fill
 * them to the byte; each `onnx` file is an ONNX ModelProto. Throws 400 INVALID_MODEL naming
 * the file and the field.
 *
 * @example
 * checkModelFiles(manifest, [{ path: 'model.json', bytes }, { path: 'weights.bin', bytes: weights }]);
 */
export function checkModelFiles(manifest: Manifest, files: readonly { path: string; bytes: Uint8Array }[]): void {
  const bytesOf = new Map(files.map((file) => [file.path, file.bytes]));
  const models = manifest.files.filter((file) => file.role === 'model');
  const [model] = models;
  if (models.length !== 1 || !model) {
    throw invalidModel(
      `manifest.files: a ${manifest.format} version has exactly one file with role "model" (its model.json), not ${models.length}`,
    );
  }
  const sizes = new Map(files.map((file) => [file.path, file.bytes.byteLength]));
  const layers = layersModelProblem(bytesOf.get(model.path) ?? new Uint8Array(0), model.path, manifest, sizes);
  if (layers) throw invalidModel(layers);
  for (const onnx of manifest.files.filter((file) => file.role === 'onnx')) {
    const problem = onnxModelProblem(bytesOf.get(onnx.path) ?? new Uint8Array(0));
    if (problem) throw invalidModel(`${onnx.path} is not an ONNX model: ${problem}`);
  }
}
