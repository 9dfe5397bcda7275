import * as v from 'valibot';
import { ErrorCode } from '../../../protocol/errors.ts';
import { sha256Hex } from '../../../protocol/hash.ts';
import { MAX_VERSION_BYTES, Manifest } from '../../../protocol/manifest.ts';
import { strictUtf8 } from '../../../protocol/strict-json.ts';
import { referenceProblem } from '../drift/compatible.ts';
import { ApiError } from '../http/api-error.ts';
import { describeIssues } from '../http/issues.ts';
import { checkModelFiles } from '../registry-checks/model-files.ts';
import type { Blob256 } from '../storage/blobs.ts';
import { contentTypeFor } from '../storage/content-type.ts';
import type { FileRecord } from '../storage/registry.ts';

/** A publish request checked end to end, ready to store. */
export interface Upload {
  /** The manifest with every file's sha256 filled in. */
  manifest: Manifest;
  files: (FileRecord & Blob256)[];
}

const invalidManifest = (message: string) => new ApiError(400, ErrorCode.INVALID_MANIFEST, message);

async function readManifest(model: string, part: File | string | null): Promise<Manifest> {
  if (part === null) throw invalidManifest('the "manifest" part is missing');
  let text: string;
  try {
    text = typeof part === 'string' ? part : strictUtf8(await part.arrayBuffer());
  } catch {
    throw invalidManifest('the "manifest" part is not UTF-8');
  }
  // A text field arrives decoded with bad bytes replaced by U+FFFD; no manifest needs one.
  if (text.includes('\uFFFD')) throw invalidManifest('the "manifest" part is not UTF-8 (it holds U+FFFD)');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalidManifest('the "manifest" part is not valid JSON');
  }
  const result = v.safeParse(Manifest, json);
  if (!result.success) throw invalidManifest(describeIssues(result.issues, 'manifest'));
  const manifest = result.output;
  if (manifest.name !== model) {
    throw invalidManifest(`manifest.name "${manifest.name}" does not match the model in the URL "${model}"`);
  }
  const seen = new Set<string>();
  for (const { path } of manifest.files) {
    if (seen.has(path)) throw invalidManifest(`manifest.files lists "${path}" twice`);
    seen.add(path);
  }
  return manifest;
}

type ManifestFile = Manifest['files'][number];

/** Pairs each manifest entry with its part; every other part must be a listed file. */
function fileParts(form: FormData, manifest: Manifest): { entry: ManifestFile; file: File }[] {
  const listed = new Set(manifest.files.map((file) => file.path));
  const parts = new Map<string, File>();
  for (const [name, value] of form.entries()) {
    if (name === 'manifest') continue;
    const badRequest = (why: string) => new ApiError(400, ErrorCode.BAD_REQUEST, `part "${name}" ${why}`);
    if (!listed.has(name)) throw badRequest('is not listed in manifest.files');
    if (typeof value === 'string') throw badRequest('must be a file (send it with a filename)');
    if (parts.has(name)) throw badRequest('is sent twice');
    parts.set(name, value);
  }
  const paired = manifest.files.map((entry) => {
    const file = parts.get(entry.path);
    if (!file)
      throw new ApiError(400, ErrorCode.MISSING_FILE, `file "${entry.path}" is in manifest.files but not sent`);
    return { entry, file };
  });
  const total = paired.reduce((sum, { file }) => sum + file.size, 0);
  if (total > MAX_VERSION_BYTES) {
    throw new ApiError(
      413,
      ErrorCode.PAYLOAD_TOO_LARGE,
      `the files of a version total at most ${MAX_VERSION_BYTES} bytes (MAX_VERSION_BYTES); these total ${total}`,
    );
  }
  return paired;
}

/**
 * Checks a publish form completely before anything is stored: the manifest (schema, at most
 * MAX_VERSION_FILES files, name, unique paths), the parts (each listed file present, nothing
 * extra, MAX_VERSION_BYTES in all), every digest the manifest states, the model files (a
 * model of their format) and the reference profile, if any. Throws 400 with INVALID_MANIFEST,
 * MISSING_FILE, DIGEST_MISMATCH, INVALID_MODEL, INVALID_PROFILE or BAD_REQUEST, 413
 * PAYLOAD_TOO_LARGE.
 *
 * @example
 * const upload = await readUpload('digits', await request.formData());
 */
export async function readUpload(model: string, form: FormData): Promise<Upload> {
  if (form.getAll('manifest').length > 1) throw invalidManifest('send one "manifest" part, not several');
  const manifest = await readManifest(model, form.get('manifest'));
  const checked = await Promise.all(
    fileParts(form, manifest).map(async ({ entry, file }) => {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const sha256 = await sha256Hex(bytes);
      if (entry.sha256 !== undefined && entry.sha256 !== sha256) {
        throw new ApiError(
          400,
          ErrorCode.DIGEST_MISMATCH,
          `file "${entry.path}": manifest says sha256 ${entry.sha256} but the bytes sent hash to ${sha256}`,
        );
      }
      const problem = entry.path === manifest.reference?.path ? referenceProblem(bytes, manifest) : null;
      if (problem) {
        throw new ApiError(400, ErrorCode.INVALID_PROFILE, `reference "${entry.path}" ${problem}`);
      }
      const record = {
        path: entry.path,
        sha256,
        size: bytes.byteLength,
        contentType: contentTypeFor(entry.path),
        bytes,
      };
      return { entry: { ...entry, sha256 }, record };
    }),
  );
  const files = checked.map(({ record }) => record);
  checkModelFiles(manifest, files);
  return { manifest: { ...manifest, files: checked.map(({ entry }) => entry) }, files };
}
