import type { MiddlewareHandler } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { Scope } from '../../../protocol/keys.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { authenticate } from './authenticate.ts';
import { grants } from './scopes.ts';

/**
 * Middleware admitting keys that grant at least one of `accepted` (admin grants all);
 * sets `c.var.caller`. 401 without a valid key, 403 when the key lacks the scope.
 *
 * @example
 * app.get('/v1/models', requireScope('read'), listHandler);
 */
export function requireScope(...accepted: Scope[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = await authenticate(c.env, c.req.header('authorization'));
    if (!accepted.some((scope) => grants(caller.scopes, scope))) {
      throw new ApiError(403, ErrorCode.FORBIDDEN, `this key lacks the ${accepted.join(' or ')} scope`);
    }
    c.set('caller', caller);
    await next();
  };
}
