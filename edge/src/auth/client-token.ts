import type { Context } from 'hono';
import * as v from 'valibot';
import { CLIENT_TOKEN_HEADER } from '../../../protocol/clients.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import { timingSafeEqual } from '../../../protocol/hash.ts';
import { ClientId } from '../../../protocol/names.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * A fresh client id: `c_` and 16 random bytes as base64url (24 characters, matches ClientId).
 *
 * @example
 * newClientId() // "c_Jx3…"
 */
export function newClientId(): string {
  return `c_${base64url(crypto.getRandomValues(new Uint8Array(16)))}`;
}

// The secret is a deploy-time secret; a missing one is a server fault that names the fix.
function secretOf(env: Env): string {
  if (!env.EDGELOOP_TOKEN_SECRET) {
    throw new ApiError(
      500,
      ErrorCode.INTERNAL,
      'EDGELOOP_TOKEN_SECRET is not set (wrangler secret put EDGELOOP_TOKEN_SECRET)',
    );
  }
  return env.EDGELOOP_TOKEN_SECRET;
}

async function mac(secret: string, clientId: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return base64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(clientId))));
}

/**
 * The token of a client: `<clientId>.<base64url HMAC-SHA256(EDGELOOP_TOKEN_SECRET, clientId)>`.
 * It is checked by recomputing the MAC, so a write needs no lookup to authenticate the client;
 * rotating the secret invalidates every token.
 *
 * @example
 * const token = await issueClientToken(c.env, 'c_Jx3…'); // "c_Jx3….Qm9…"
 */
export async function issueClientToken(env: Env, clientId: string): Promise<string> {
  return `${clientId}.${await mac(secretOf(env), clientId)}`;
}

/**
 * The client id a token was issued for, or null when the token is malformed or its MAC is
 * wrong (compared in constant time).
 *
 * @example
 * const clientId = await verifyClientToken(c.env, c.req.header(CLIENT_TOKEN_HEADER));
 */
export async function verifyClientToken(env: Env, token: string | undefined): Promise<string | null> {
  const secret = secretOf(env);
  const dot = token?.lastIndexOf('.') ?? -1;
  if (!token || dot < 0) return null;
  const clientId = token.slice(0, dot);
  if (!v.is(ClientId, clientId)) return null;
  return timingSafeEqual(token.slice(dot + 1), await mac(secret, clientId)) ? clientId : null;
}

/** Token checks by request: the rate limits, the route and the drift feed all ask. */
const verified = new WeakMap<Request, Promise<string | null>>();

/**
 * The client of the request's valid {@link CLIENT_TOKEN_HEADER}, else null (none, or a wrong
 * one: refused where a token is required). Verified once per request, however often asked.
 *
 * @example
 * const clientId = await tokenClient(c); // 'c_Jx3…' or null
 */
export function tokenClient(c: Context<AppEnv>): Promise<string | null> {
  let clientId = verified.get(c.req.raw);
  if (!clientId) {
    const token = c.req.header(CLIENT_TOKEN_HEADER);
    clientId = token ? verifyClientToken(c.env, token) : Promise.resolve(null);
    verified.set(c.req.raw, clientId);
  }
  return clientId;
}

/**
 * Throws 401 INVALID_CLIENT_TOKEN unless the request carries the {@link CLIENT_TOKEN_HEADER}
 * issued for `clientId` (the client the body writes for). Every key, admin included, needs it.
 *
 * @example
 * await requireClientToken(c, batch.clientId);
 */
export async function requireClientToken(c: Context<AppEnv>, clientId: string): Promise<void> {
  const presented = c.req.header(CLIENT_TOKEN_HEADER);
  if (!presented) {
    throw new ApiError(401, ErrorCode.INVALID_CLIENT_TOKEN, `send ${CLIENT_TOKEN_HEADER} (from POST /v1/clients)`);
  }
  const owner = await verifyClientToken(c.env, presented);
  if (owner !== clientId) {
    throw new ApiError(
      401,
      ErrorCode.INVALID_CLIENT_TOKEN,
      owner ? `the ${CLIENT_TOKEN_HEADER} is for another client` : `invalid ${CLIENT_TOKEN_HEADER}`,
    );
  }
}
