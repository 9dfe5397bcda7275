/** R2 key of a content-addressed blob. */
export const blobKey = (sha256: string): string => `blobs/sha256/${sha256}`;

/** Bytes to store under their SHA-256 (lower-case hex). */
export interface Blob256 {
  sha256: string;
  bytes: Uint8Array;
}

/**
 * Stores blobs content-addressed, skipping those already present (same digest, same bytes).
 * R2 verifies each digest on write, so a corrupted upload is refused by storage too.
 *
 * @example
 * await putBlobs(env.ARTIFACTS, [{ sha256: await sha256Hex(bytes), bytes }]);
 */
export async function putBlobs(bucket: R2Bucket, blobs: readonly Blob256[]): Promise<void> {
  const unique = new Map(blobs.map((blob) => [blob.sha256, blob]));
  await Promise.all(
    [...unique.values()].map(async ({ sha256, bytes }) => {
      if (await bucket.head(blobKey(sha256))) return;
      await bucket.put(blobKey(sha256), bytes, { sha256 });
    }),
  );
}
