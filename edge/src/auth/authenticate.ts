import { ErrorCode } from '../../../protocol/errors.ts';
import { sha256Hex, timingSafeEqual } from '../../../protocol/hash.ts';
import type { KeyInfo, Scope } from '../../../protocol/keys.ts';
import type { Caller } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { findKeyByHash, upsertBootstrapKey } from '../storage/api-keys.ts';

/** SHA-256 hex of a key as stored in `api_keys.hash`. */
export const hashKey = (key: string): Promise<string> => sha256Hex(new TextEncoder().encode(key));

function unauthorized(message: string): ApiError {
  return new ApiError(401, ErrorCode.UNAUTHORIZED, message);
}

// The keys configured as secrets, inserted into api_keys the first time they are used so
// they can be listed and revoked like any other key.
function bootstrapKeys(env: Env): { id: string; name: string; key: string; scopes: Scope[] }[] {
  return [
    { id: 'bootstrap-admin', name: 'EDGELOOP_ADMIN_KEY', key: env.EDGELOOP_ADMIN_KEY, scopes: ['admin'] },
    { id: 'bootstrap-client', name: 'EDGELOOP_CLIENT_KEY', key: env.EDGELOOP_CLIENT_KEY, scopes: ['client'] },
  ];
}

async function bootstrap(env: Env, hash: string): Promise<KeyInfo | null> {
  for (const candidate of bootstrapKeys(env)) {
    if (!candidate.key) continue;
    // Constant-time, so response timing says nothing about how close a guess came.
    if (!timingSafeEqual(hash, await hashKey(candidate.key))) continue;
    const { id, name, scopes } = candidate;
    await upsertBootstrapKey(env.DB, { id, name, scopes, hash, createdAt: Date.now() });
    return findKeyByHash(env.DB, hash);
  }
  return null;
}

/**
 * How long an isolate reuses a valid key's check instead of asking D1 again: a flood of
 * requests (refused later by its limits) then costs no database read each. A key revoked in
 * this isolate is forgotten at once ({@link forgetCheckedKeys}); other isolates stop accepting
 * it within this bound.
 */
export const KEY_CHECK_MS = 10_000;
/** Entries kept before the cache starts afresh (a flood of distinct valid keys is not expected). */
const MAX_CHECKED = 1000;
const checked = new Map<string, { caller: Caller; until: number }>();

/** Forgets every cached key check of this isolate (after a revocation). */
export function forgetCheckedKeys(): void {
  checked.clear();
}

/**
 * Resolves `Authorization: Bearer <key>` to the calling key. Only SHA-256 hashes are
 * stored and looked up; a valid key's check is reused for KEY_CHECK_MS. Throws 401
 * UNAUTHORIZED for a missing, unknown or revoked key.
 *
 * @example
 * const caller = await authenticate(c.env, c.req.header('authorization'));
 */
export async function authenticate(env: Env, authorization: string | undefined): Promise<Caller> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const presented = match?.[1];
  if (!presented) throw unauthorized('send Authorization: Bearer <key>');
  const hash = await hashKey(presented);
  const now = Date.now();
  const cached = checked.get(hash);
  if (cached && cached.until > now) return cached.caller;
  const key = (await findKeyByHash(env.DB, hash)) ?? (await bootstrap(env, hash));
  if (!key) throw unauthorized('unknown API key');
  if (key.revokedAt !== null) throw unauthorized('this API key has been revoked');
  const caller = { keyId: key.id, scopes: key.scopes };
  if (checked.size >= MAX_CHECKED) checked.clear();
  checked.set(hash, { caller, until: now + KEY_CHECK_MS });
  return caller;
}
