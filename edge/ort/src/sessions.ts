import { sha256Hex } from '../../../protocol/hash.ts';
import { ModelCache } from '../../src/infer/model-cache.ts';
import { blobKey } from '../../src/storage/blobs.ts';
import { loadFailure, OrtError } from './failure.ts';
import { createSession, type ort } from './ort-wasm.ts';

/** Bytes of model files whose sessions this isolate keeps (ORT's memory for a model is about its file). */
export const SESSION_BUDGET = 64 * 1024 * 1024;

/** Sessions of this isolate by the sha256 of their model, least recently used out first. */
const cache = new ModelCache<ort.InferenceSession>(SESSION_BUDGET, (session) => {
  session.release().catch(() => undefined);
});

/** Reads `blobs/sha256/<sha256>` from R2, checks its digest, and creates its session. */
async function load(bucket: R2Bucket, sha256: string): Promise<{ model: ort.InferenceSession; bytes: number }> {
  const label = `model ${sha256.slice(0, 12)}`;
  const object = await bucket.get(blobKey(sha256));
  if (!object) throw new OrtError('FILE_NOT_FOUND', `${label}: no file under "${blobKey(sha256)}" in storage`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  if ((await sha256Hex(bytes)) !== sha256) {
    throw new OrtError('DIGEST_MISMATCH', `${label}: the stored bytes do not match their sha256`);
  }
  try {
    return { model: await createSession(bytes), bytes: bytes.byteLength };
  } catch (error) {
    throw loadFailure(error, label);
  }
}

/**
 * Runs `run` on the session of the model with this sha256, loading it when this isolate has
 * not; `cached` says whether it had. Concurrent calls for a cold model load it once.
 *
 * @example
 * const { value, cached } = await withSession(env.ARTIFACTS, sha256, (session) => session.run(feeds));
 */
export async function withSession<T>(
  bucket: R2Bucket,
  sha256: string,
  run: (session: ort.InferenceSession) => Promise<T>,
): Promise<{ value: T; cached: boolean }> {
  const { value, hit } = await cache.use(sha256, () => load(bucket, sha256), run);
  return { value, cached: hit };
}

/** The sha256s of the sessions kept now, least recently used first. */
export const cachedModels = (): string[] => cache.keys();

/**
 * Runs `run` on a session of `bytes` made for this call alone, released after it (a model being
 * published, checked before it is stored).
 *
 * @example
 * const outputs = await withNewSession(bytes, (session) => session.run(feeds));
 */
export async function withNewSession<T>(
  bytes: Uint8Array,
  run: (session: ort.InferenceSession) => Promise<T>,
): Promise<T> {
  let session: ort.InferenceSession;
  try {
    session = await createSession(bytes);
  } catch (error) {
    throw loadFailure(error, 'the model');
  }
  try {
    return await run(session);
  } finally {
    await session.release().catch(() => undefined);
  }
}
