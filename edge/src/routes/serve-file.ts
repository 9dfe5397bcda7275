import type { Context } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { matchesEtag } from '../http/etag.ts';
import { getFile } from '../storage/registry.ts';
import { readVerifiedBlob } from '../storage/verify.ts';

// Version files never change (content-addressed), so caches may keep them forever.
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Answers a version file's bytes from R2 with `ETag: "<sha256>"` and immutable caching, only
 * once they hash to that sha256 (500 DIGEST_MISMATCH otherwise, without caching headers); 304
 * when `If-None-Match` already names that digest.
 *
 * @example
 * return serveFile(c, 'digits', 1, 'model.json');
 */
export async function serveFile(c: Context<AppEnv>, model: string, version: number, path: string): Promise<Response> {
  const file = await getFile(c.env.DB, model, version, path);
  if (!file) throw new ApiError(404, ErrorCode.FILE_NOT_FOUND, `${model} v${version} has no file "${path}"`);
  const etag = `"${file.sha256}"`;
  const headers = { ETag: etag, 'Cache-Control': IMMUTABLE };
  // The caller holds the registry's bytes already: nothing is read, nothing can be altered.
  if (matchesEtag(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
  const bytes = await readVerifiedBlob(c.env.ARTIFACTS, file.sha256, `${model} v${version} "${path}"`);
  return c.body(bytes, 200, {
    ...headers,
    'Content-Type': file.contentType,
    'Content-Length': String(bytes.byteLength),
  });
}
