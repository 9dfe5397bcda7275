import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportOnnx } from '../../models/onnx/export.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { parseModelJson, weightPaths } from '../../protocol/model-json.ts';
import { CliError } from './errors.ts';

/** Where `--onnx` puts the export, unless the manifest already lists a file with role `onnx`. */
export const ONNX_PATH = 'model.onnx';

/**
 * The manifest with one `onnx` file entry for a fresh export: a file the manifest already lists
 * with role `onnx` is replaced (its path kept, its sha256 dropped since the bytes change);
 * otherwise `model.onnx` is added. Refuses a path another role already uses.
 *
 * @example
 * const { manifest: sent, path } = withOnnxFile(manifest); // path === 'model.onnx'
 */
export function withOnnxFile(manifest: Manifest): { manifest: Manifest; path: string } {
  const path = manifest.files.find((f) => f.role === 'onnx')?.path ?? ONNX_PATH;
  const clash = manifest.files.find((f) => f.path === path && f.role !== 'onnx');
  if (clash) throw new CliError(`--onnx: ${path} is already listed with role "${clash.role}"`);
  const files = manifest.files.filter((f) => f.role !== 'onnx');
  return { manifest: { ...manifest, files: [...files, { path, role: 'onnx' }] }, path };
}

/**
 * Exports the version in `dir` to ONNX: its model.json (the file with role `model`) and the
 * weight shards it names (each listed with role `weights`). With one manifest input and output, the ONNX graph takes their names,
 * so the ONNX model answers to the same tensor names as the manifest.
 */
export async function exportDirOnnx(dir: string, manifest: Manifest): Promise<Uint8Array> {
  const models = manifest.files.filter((f) => f.role === 'model');
  const model = models[0];
  if (!model || models.length > 1) throw new CliError('--onnx needs exactly one file with role "model"');
  const [input, ...moreInputs] = manifest.inputs;
  const [output, ...moreOutputs] = manifest.outputs;
  const names =
    moreInputs.length === 0 && moreOutputs.length === 0 ? { inputName: input?.name, outputName: output?.name } : {};
  try {
    const modelJson = parseModelJson(await read(dir, model.path), model.path);
    const paths = weightPaths(modelJson, model.path);
    const unlisted = paths.filter((path) => !manifest.files.some((f) => f.path === path && f.role === 'weights'));
    if (unlisted.length > 0) throw new CliError(`--onnx: ${unlisted.join(', ')} not listed with role "weights"`);
    const shards = await Promise.all(paths.map((path) => read(dir, path)));
    return exportOnnx(modelJson, shards, names);
  } catch (error) {
    if (error instanceof EdgeloopError) throw new CliError(`cannot export ${model.path} to ONNX: ${error.message}`);
    throw error;
  }
}

async function read(dir: string, path: string): Promise<ArrayBuffer> {
  try {
    return new Uint8Array(await readFile(join(dir, path))).buffer;
  } catch (error) {
    throw new CliError(`cannot read ${join(dir, path)}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}
