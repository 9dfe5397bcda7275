import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tfjsFormatOf } from '../../../models/formats/tfjs-json.ts';
import type { FileRole, Manifest, ModelFormat } from '../../../protocol/manifest.ts';
import { parseModelJson, weightPaths } from '../../../protocol/model-json.ts';
import { CliError } from '../errors.ts';

// What `edgeloop init` finds in a model folder: the format, the model file, its weight shards
// and the files whose name says their role (a layers model's ONNX export, replay and held-out sets).

/** The folder's files that the version lists, and those it leaves out. */
export interface FolderModel {
  format: ModelFormat;
  /** The file with role `model`, relative to the folder. */
  model: string;
  files: Manifest['files'];
  /** Files of the folder the manifest does not list (shown to the user). */
  unlisted: string[];
  /** The bytes of every listed file, by path. */
  bytes: Map<string, Uint8Array>;
}

/** Roles a file takes by its name, besides the model and its weights. */
const NAMED_ROLES: [RegExp, FileRole][] = [
  [/^replay\.(bin|npy|safetensors)$/, 'replay'],
  [/^holdout\.(bin|npy|safetensors)$/, 'holdout'],
];

const fail = (message: string) => new CliError(message, 1, 'INVALID_MODEL');

async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.replace(/\/+$/, '').length + 1))
      .filter((path) => path !== 'manifest.json')
      .sort();
  } catch (error) {
    throw new CliError(`cannot read the folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

async function tfjsFolder(dir: string, paths: string[], model: string): Promise<FolderModel> {
  const modelBytes = new Uint8Array(await readFile(join(dir, model)));
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(modelBytes));
  } catch {
    json = null;
  }
  const format = tfjsFormatOf(json);
  if (!format)
    throw fail(`${join(dir, model)}: modelTopology is neither a layers model (class_name) nor a graph (node)`);
  let shards: string[];
  try {
    shards = weightPaths(parseModelJson(modelBytes.slice().buffer, model), model);
  } catch (error) {
    throw fail(`${join(dir, model)}: ${(error as Error).message}`);
  }
  const missing = shards.find((shard) => !paths.includes(shard));
  if (missing) throw fail(`${join(dir, model)}: weightsManifest names "${missing}", which is not in ${dir}`);
  const files: Manifest['files'] = [
    { path: model, role: 'model' },
    ...shards.map((path) => ({ path, role: 'weights' as const })),
  ];
  const onnx = paths.filter((p) => p.endsWith('.onnx'));
  if (format === 'tfjs-layers' && onnx.length === 1 && onnx[0]) files.push({ path: onnx[0], role: 'onnx' });
  return withNamedRoles(dir, format, model, paths, files);
}

async function withNamedRoles(
  dir: string,
  format: ModelFormat,
  model: string,
  paths: string[],
  files: Manifest['files'],
): Promise<FolderModel> {
  for (const path of paths) {
    const role = NAMED_ROLES.find(([pattern]) => pattern.test(path))?.[1];
    if (role && !files.some((f) => f.path === path)) files.push({ path, role });
  }
  const listed = new Set(files.map((f) => f.path));
  const bytes = new Map<string, Uint8Array>();
  for (const path of listed) bytes.set(path, new Uint8Array(await readFile(join(dir, path))));
  return { format, model, files, unlisted: paths.filter((p) => !listed.has(p)), bytes };
}

/** The .json files of the folder that are tfjs models (a `modelTopology` and a `weightsManifest`). */
async function tfjsJsons(dir: string, paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths.filter((p) => p.endsWith('.json'))) {
    try {
      const json = JSON.parse(await readFile(join(dir, path), 'utf8')) as { weightsManifest?: unknown };
      if (tfjsFormatOf(json) && Array.isArray(json.weightsManifest)) found.push(path);
    } catch {
      // Not JSON, or not a model: a file like any other.
    }
  }
  return found;
}

/**
 * Finds the model in `dir`: a tfjs model.json (any .json with a topology and a weights manifest) (tfjs layers or graph, by its topology) with the
 * shards its weights manifest names, or a single `.onnx` file. CliError INVALID_MODEL naming the
 * file and field when the folder holds no model, several, or a model.json naming missing shards.
 *
 * @example
 * const found = await findModel('models/mobilenet'); // { format: 'tfjs-graph', model: 'model.json', files: [...] }
 */
export async function findModel(dir: string): Promise<FolderModel> {
  const paths = await listFiles(dir);
  const jsons = await tfjsJsons(dir, paths);
  const onnx = paths.filter((p) => p.endsWith('.onnx'));
  if (jsons.length > 1) throw fail(`${dir} holds several tfjs models (${jsons.join(', ')}); keep one model per folder`);
  const [json] = jsons;
  if (json) return tfjsFolder(dir, paths, json);
  const [model] = onnx;
  if (!model) throw fail(`${dir} holds no model: expected a tfjs model.json or an .onnx file`);
  if (onnx.length > 1) throw fail(`${dir} holds several .onnx files (${onnx.join(', ')}); keep one model per folder`);
  return withNamedRoles(dir, 'onnx', model, paths, [{ path: model, role: 'model' }]);
}
