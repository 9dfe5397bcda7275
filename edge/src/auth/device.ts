import type { Context } from 'hono';
import { CLIENT_TOKEN_HEADER } from '../../../protocol/clients.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { clientRefusal } from '../routes/client-refusal.ts';
import { clientStanding } from '../storage/clients.ts';
import { tokenClient } from './client-token.ts';

/**
 * The device a request comes from, proven by its {@link CLIENT_TOKEN_HEADER}: every device
 * shares the public client key, so only the token tells one from another. Throws 401
 * INVALID_CLIENT_TOKEN for a missing or wrong token or an unregistered client, 403
 * CLIENT_REVOKED for a revoked one.
 *
 * @example
 * const clientId = await requireDevice(c); // 'c_Jx3…'
 */
export async function requireDevice(c: Context<AppEnv>): Promise<string> {
  const presented = c.req.header(CLIENT_TOKEN_HEADER);
  if (!presented) {
    throw new ApiError(401, ErrorCode.INVALID_CLIENT_TOKEN, `send ${CLIENT_TOKEN_HEADER} (from POST /v1/clients)`);
  }
  const clientId = await tokenClient(c);
  if (!clientId) throw new ApiError(401, ErrorCode.INVALID_CLIENT_TOKEN, `invalid ${CLIENT_TOKEN_HEADER}`);
  const standing = await clientStanding(c.env.DB, clientId);
  if (standing !== 'ok') throw clientRefusal(standing, clientId);
  return clientId;
}
