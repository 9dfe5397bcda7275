import type { Context } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { isAliased } from '../storage/aliases.ts';
import { grants } from './scopes.ts';

/**
 * Read keys see every version; a client key only versions an alias or rollout points at
 * (403 FORBIDDEN otherwise). Runs after `requireScope('read', 'client')`.
 *
 * @example
 * await checkVersionAccess(c, 'digits', 3);
 */
export async function checkVersionAccess(c: Context<AppEnv>, model: string, version: number): Promise<void> {
  if (grants(c.var.caller.scopes, 'read')) return;
  if (!(await isAliased(c.env.DB, model, version))) {
    throw new ApiError(403, ErrorCode.FORBIDDEN, 'a client key may only read versions an alias points at');
  }
}
