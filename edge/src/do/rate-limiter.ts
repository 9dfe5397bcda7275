import { DurableObject } from 'cloudflare:workers';

/** The answer to one request for a token. */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until a token is available again (0 when allowed). */
  retryAfter: number;
}

/**
 * A token bucket for one key (`client:<id>` or `ip:<address>`): `perMinute` tokens at most,
 * refilled continuously at `perMinute` per minute. The state lives in memory only: an object
 * evicted after being idle restarts full, which only errs towards serving, and a flood keeps
 * its object alive. The limit comes with each call, so changing the var applies at once.
 */
export class RateLimiter extends DurableObject<Env> {
  private tokens = Number.NaN;
  private at = 0;

  /**
   * Takes one token if there is one.
   *
   * @example
   * const { allowed, retryAfter } = await env.RATE_LIMITER.get(id).take(600);
   */
  take(perMinute: number): RateDecision {
    const now = Date.now();
    const perMs = perMinute / 60_000;
    this.tokens = Number.isNaN(this.tokens) ? perMinute : Math.min(perMinute, this.tokens + (now - this.at) * perMs);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, retryAfter: 0 };
    }
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - this.tokens) / perMs / 1000)) };
  }
}
