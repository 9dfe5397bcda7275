import { graphNames, parseGraphModelJson, tfjsModelProblem } from '../../../models/formats/tfjs-json.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { Manifest } from '../../../protocol/manifest.ts';
import { ApiError } from '../http/api-error.ts';
import { onnxModelProblem } from './onnx.ts';
import { onnxSignatureProblem } from './onnx-signature.ts';

const invalidModel = (message: string) => new ApiError(400, ErrorCode.INVALID_MODEL, message);

/** What each format's one `model` file is. */
const MODEL_FILE = { 'tfjs-layers': 'its model.json', 'tfjs-graph': 'its model.json', onnx: 'its .onnx file' } as const;

/**
 * Checks that the model files of a version about to be published are models of their format,
 * before anything is stored: every version has one file with role `model`. A tfjs version's
 * model.json is of its format (layers or graph), its weights manifest names exactly its
 * `weights` files and its weights fill them to the byte; a graph model has every input and
 * output the manifest names. An ONNX version's model is a ModelProto whose inputs and outputs
 * are the manifest's (names, element types, ranks), with no `weights` files. Each `onnx` file
 * (a tfjs-layers version's export) is a ModelProto. Throws 400 INVALID_MODEL naming the file
 * and the field.
 *
 * @example
 * checkModelFiles(manifest, [{ path: 'model.json', bytes }, { path: 'weights.bin', bytes: weights }]);
 */
export function checkModelFiles(manifest: Manifest, files: readonly { path: string; bytes: Uint8Array }[]): void {
  const bytesOf = new Map(files.map((file) => [file.path, file.bytes]));
  const { format } = manifest;
  const models = manifest.files.filter((file) => file.role === 'model');
  const [model] = models;
  if (models.length !== 1 || !model) {
    throw invalidModel(
      `manifest.files: a ${format} version has exactly one file with role "model" (${MODEL_FILE[format]}), not ${models.length}`,
    );
  }
  const modelBytes = bytesOf.get(model.path) ?? new Uint8Array(0);
  const weights = manifest.files.filter((f) => f.role === 'weights');
  if (format === 'onnx') {
    if (weights.length > 0) {
      throw invalidModel(
        `manifest.files: an onnx version keeps its weights inside ${model.path}; "${weights[0]?.path}" has role "weights"`,
      );
    }
    const problem = onnxModelProblem(modelBytes) ?? onnxSignatureProblem(modelBytes, model.path, manifest);
    if (problem)
      throw invalidModel(problem.startsWith(model.path) ? problem : `${model.path} is not an ONNX model: ${problem}`);
  } else {
    const sizes = new Map(weights.map((f) => [f.path, bytesOf.get(f.path)?.byteLength ?? 0]));
    const problem = tfjsModelProblem(modelBytes, model.path, format, sizes);
    if (problem) throw invalidModel(problem);
    if (format === 'tfjs-graph') checkGraphNames(modelBytes, model.path, manifest);
  }
  for (const onnx of manifest.files.filter((file) => file.role === 'onnx')) {
    if (format !== 'tfjs-layers')
      throw invalidModel(
        `manifest.files: "${onnx.path}": only a tfjs-layers version carries an ONNX export (role "onnx")`,
      );
    const problem = onnxModelProblem(bytesOf.get(onnx.path) ?? new Uint8Array(0));
    if (problem) throw invalidModel(`${onnx.path} is not an ONNX model: ${problem}`);
  }
}

/** A graph model is fed and read by name: each name the manifest gives must be the graph's. */
function checkGraphNames(bytes: Uint8Array, path: string, manifest: Manifest): void {
  const names = graphNames(parseGraphModelJson(bytes));
  for (const [side, specs] of [
    ['inputs', manifest.inputs],
    ['outputs', manifest.outputs],
  ] as const) {
    for (const [i, spec] of specs.entries()) {
      if (!names[side].has(spec.name)) {
        const known = [...names[side]]
          .slice(0, side === 'inputs' ? 16 : 8)
          .map((n) => `"${n}"`)
          .join(', ');
        throw invalidModel(
          `manifest.${side}[${i}].name: ${path} has no ${side === 'inputs' ? 'input' : 'output'} "${spec.name}" (${side === 'inputs' ? 'its inputs' : 'e.g.'}: ${known})`,
        );
      }
    }
  }
}
