import { EdgeloopError } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/hash.ts';
import type { StoredFile, VersionInfo } from '../../protocol/registry.ts';
import { withStorage } from '../db.ts';
import { pathSegments } from '../edge-client.ts';
import type { Runtime } from '../runtime.ts';

export interface FetchedFile {
  bytes: ArrayBuffer;
  /** True when the bytes came from the IndexedDB cache rather than the network. */
  cached: boolean;
}

/**
 * Returns a version's file, verified against the sha256 the registry lists for it. The cache is
 * keyed by that digest; cached bytes are verified again (a damaged entry is dropped and fetched
 * anew); downloaded bytes that do not match are refused with DIGEST_MISMATCH and never cached.
 *
 * @example
 * const { bytes } = await fetchVerified(runtime, info, storedFile(info, 'weights.bin'));
 */
export async function fetchVerified(
  runtime: Pick<Runtime, 'db' | 'edge'>,
  info: VersionInfo,
  file: StoredFile,
): Promise<FetchedFile> {
  const { db, edge } = runtime;
  const hit = await withStorage('read model cache', () => db.files.get(file.sha256));
  if (hit && (await sha256Hex(hit.bytes)) === file.sha256) return { bytes: hit.bytes, cached: true };
  if (hit) await withStorage('drop damaged cache entry', () => db.files.delete(file.sha256));

  const bytes = await edge.bytes(
    `/v1/models/${pathSegments(info.model, 'versions', info.version, 'files', file.path)}`,
  );
  const actual = await sha256Hex(bytes);
  if (actual !== file.sha256) {
    throw new EdgeloopError(
      'DIGEST_MISMATCH',
      `${info.model} v${info.version} ${file.path}: sha256 ${actual} differs from the registry's ${file.sha256}`,
    );
  }
  await withStorage('write model cache', () =>
    db.files.put({ sha256: file.sha256, bytes, size: bytes.byteLength, storedAt: Date.now() }),
  );
  return { bytes, cached: false };
}

/** The stored-file entry (digest, size) for a path of a version, or EDGE_ERROR if the edge lists none. */
export function storedFile(info: VersionInfo, path: string): StoredFile {
  const file = info.files.find((f) => f.path === path);
  if (!file) throw new EdgeloopError('EDGE_ERROR', `${info.model} v${info.version} lists no stored file ${path}`);
  return file;
}

/** Paths of the version's files with a manifest role, in manifest order. */
export function pathsWithRole(info: VersionInfo, role: string): string[] {
  return info.manifest.files.filter((f) => f.role === role).map((f) => f.path);
}
