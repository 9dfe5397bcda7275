import type { MiddlewareHandler } from 'hono';
import { CLIENT_TOKEN_HEADER } from '../../../protocol/clients.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { verifyClientToken } from '../auth/client-token.ts';
import { grants } from '../auth/scopes.ts';
import type { RateDecision } from '../do/rate-limiter.ts';
import { ApiError } from './api-error.ts';

// Generous enough that the e2e suite (a few hundred requests a minute from one address) is
// never limited; wrangler.toml vars override them.
const DEFAULT_CLIENT_PER_MIN = 600;
const DEFAULT_IP_PER_MIN = 3000;
// Local requests (tests, wrangler dev) carry no CF-Connecting-IP; they share one bucket.
const LOCAL_IP = 'local';

function perMinute(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

function take(env: Env, key: string, limit: number): Promise<RateDecision> {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key)).take(limit);
}

/**
 * Middleware (after `requireScope`) limiting client traffic per client and per address, with a
 * {@link RateLimiter} Durable Object per key: `EDGELOOP_RATE_CLIENT_PER_MIN` for the client of
 * a valid `Edgeloop-Client-Token` (a wrong token is refused later by the handler, and counts
 * only against the address), `EDGELOOP_RATE_IP_PER_MIN` per `CF-Connecting-IP`. Keys with
 * the publish scope (operators, CI) are not limited. 429 RATE_LIMITED with `Retry-After`.
 *
 * @example
 * app.post('/v1/events', requireScope('client'), rateLimit(), handler);
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!grants(c.var.caller.scopes, 'publish')) {
      const ip = c.req.header('cf-connecting-ip') ?? LOCAL_IP;
      const token = c.req.header(CLIENT_TOKEN_HEADER);
      const clientId = token ? await verifyClientToken(c.env, token) : null;
      const decisions = await Promise.all([
        take(c.env, `ip:${ip}`, perMinute(c.env.EDGELOOP_RATE_IP_PER_MIN, DEFAULT_IP_PER_MIN)),
        clientId
          ? take(c.env, `client:${clientId}`, perMinute(c.env.EDGELOOP_RATE_CLIENT_PER_MIN, DEFAULT_CLIENT_PER_MIN))
          : null,
      ]);
      const refused = decisions.filter((d): d is RateDecision => d !== null && !d.allowed);
      if (refused.length > 0) {
        const retryAfter = Math.max(...refused.map((d) => d.retryAfter));
        throw new ApiError(429, ErrorCode.RATE_LIMITED, `too many requests; retry in ${retryAfter} s`, {
          'Retry-After': String(retryAfter),
        });
      }
    }
    await next();
  };
}
