import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { buildProfile, Manifest, type Profile, type PublishResult } from '../../protocol/index.ts';
import type { EdgeClient } from './client.ts';
import { CliError } from './errors.ts';
import { exportDirOnnx, withOnnxFile } from './onnx.ts';

/** Progress of a publish, reported after an ONNX export, as each file is read and before the upload. */
export type PublishProgress =
  | { kind: 'onnx'; from: string; path: string; size: number }
  | { kind: 'file'; path: string; size: number; index: number; count: number }
  | { kind: 'upload'; files: number; bytes: number };

/** Reads and validates `<dir>/manifest.json`. */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = v.safeParse(Manifest, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue ? v.getDotPath(issue) : null;
    throw new CliError(`invalid manifest ${file}: ${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}`);
  }
  return parsed.output;
}

/** Where `--reference` puts the reference profile it builds, unless the manifest names a path. */
export const REFERENCE_PATH = 'reference.json';

/**
 * Reads `rows.json` (an array of rows: feature name → number, string or null) and profiles it
 * with the manifest's feature schema: the reference drift is measured against.
 */
export async function readReferenceRows(file: string, manifest: Manifest): Promise<Profile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(
      `cannot read reference rows ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const rows = v.safeParse(ReferenceRows, json);
  if (!rows.success) {
    const issue = rows.issues[0];
    const where = issue ? v.getDotPath(issue) : null;
    throw new CliError(`invalid reference rows ${file}: ${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}`);
  }
  try {
    return buildProfile(rows.output, manifest.features);
  } catch (error) {
    throw new CliError(`invalid reference rows ${file}: ${(error as Error).message}`);
  }
}

const ReferenceRows = v.pipe(
  v.array(v.record(v.string(), v.nullable(v.union([v.pipe(v.number(), v.finite()), v.string()])))),
  v.minLength(1, 'need at least one row'),
);

/** What {@link publishDir} adds to the files `dir` holds. */
export interface PublishOptions {
  /** Upload this profile as the version's reference file (replacing one the manifest names). */
  reference?: Profile;
  /**
   * Export the version's tfjs model to ONNX and upload it with role `onnx` (at the path of a file
   * the manifest lists with that role, replacing it, else `model.onnx`).
   */
  onnx?: boolean;
}

/**
 * Publishes the manifest in `dir` and every file it lists as the model's next version, in
 * one multipart request (`manifest` + one part per file, named by its path).
 *
 * @example
 * await publishDir(client, 'models/digits/artifacts', undefined, { onnx: true });
 */
export async function publishDir(
  client: EdgeClient,
  dir: string,
  onProgress: (p: PublishProgress) => void = () => {},
  options: PublishOptions = {},
): Promise<PublishResult> {
  let manifest = withReference(await readManifest(dir), options.reference);
  // Files made here rather than read from dir, by path.
  const made = new Map<string, Uint8Array>();
  if (options.reference && manifest.reference) {
    made.set(manifest.reference.path, new TextEncoder().encode(JSON.stringify(options.reference)));
  }
  if (options.onnx) {
    const bytes = await exportDirOnnx(dir, manifest);
    const entry = withOnnxFile(manifest);
    manifest = entry.manifest;
    made.set(entry.path, bytes);
    const from = manifest.files.find((f) => f.role === 'model')?.path ?? '';
    onProgress({ kind: 'onnx', from, path: entry.path, size: bytes.byteLength });
  }
  const form = new FormData();
  form.set('manifest', new Blob([JSON.stringify(manifest)], { type: 'application/json' }));
  let bytes = 0;
  for (const [index, file] of manifest.files.entries()) {
    let data: Uint8Array;
    try {
      data = made.get(file.path) ?? (await readFile(join(dir, file.path)));
    } catch (error) {
      throw new CliError(`cannot read ${join(dir, file.path)}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
    bytes += data.byteLength;
    form.set(file.path, new Blob([new Uint8Array(data)]), file.path);
    onProgress({ kind: 'file', path: file.path, size: data.byteLength, index, count: manifest.files.length });
  }
  onProgress({ kind: 'upload', files: manifest.files.length, bytes });
  return client.publish(manifest.name, form);
}

function withReference(manifest: Manifest, reference: Profile | undefined): Manifest {
  if (!reference) return manifest;
  const path = manifest.reference?.path ?? REFERENCE_PATH;
  const files = manifest.files.filter((f) => f.path !== path);
  return { ...manifest, files: [...files, { path, role: 'reference' }], reference: { path } };
}
