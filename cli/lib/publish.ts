import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { Manifest, type PublishResult } from '../../protocol/index.ts';
import type { EdgeClient } from './client.ts';
import { CliError } from './errors.ts';

/** Progress of a publish, reported as each file is read and before the upload. */
export type PublishProgress =
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

/**
 * Publishes the manifest in `dir` and every file it lists as the model's next version, in
 * one multipart request (`manifest` + one part per file, named by its path).
 */
export async function publishDir(
  client: EdgeClient,
  dir: string,
  onProgress: (p: PublishProgress) => void = () => {},
): Promise<PublishResult> {
  const manifest = await readManifest(dir);
  const form = new FormData();
  form.set('manifest', new Blob([JSON.stringify(manifest)], { type: 'application/json' }));
  let bytes = 0;
  for (const [index, file] of manifest.files.entries()) {
    let data: Buffer;
    try {
      data = await readFile(join(dir, file.path));
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
