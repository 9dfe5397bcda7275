import { ErrorCode } from '../../../protocol/errors.ts';
import { sha256Hex } from '../../../protocol/hash.ts';
import { ApiError } from '../http/api-error.ts';
import { blobKey } from './blobs.ts';

/**
 * The bytes of the blob the registry recorded under `sha256`, read from R2 and hashed before
 * anyone sees them: bytes altered in storage (by an operator, an attacker with R2 access or a
 * fault) are never passed on as the registry's. Every version file fits memory (at most
 * MAX_VERSION_BYTES, protocol/manifest.ts), so it is checked whole before a byte is answered.
 * Throws 500 DIGEST_MISMATCH (the stored copy is corrupt: a server fault, logged) or 500
 * INTERNAL when the blob is missing; messages start with `label`.
 *
 * @example
 * const bytes = await readVerifiedBlob(env.ARTIFACTS, file.sha256, 'digits v3 "model.json"');
 */
export async function readVerifiedBlob(
  bucket: R2Bucket,
  sha256: string,
  label: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const object = await bucket.get(blobKey(sha256));
  if (!object) {
    console.error('blob missing from R2', { label, sha256 });
    throw new ApiError(500, ErrorCode.INTERNAL, `${label}: its bytes are missing from storage`);
  }
  const bytes = new Uint8Array(await object.arrayBuffer());
  const actual = await sha256Hex(bytes);
  if (actual !== sha256) {
    console.error('blob does not match its sha256: refused', { label, key: blobKey(sha256), actual });
    throw new ApiError(
      500,
      ErrorCode.DIGEST_MISMATCH,
      `${label}: the stored bytes do not match the registry's sha256 ${sha256}; they are not served`,
    );
  }
  return bytes;
}
