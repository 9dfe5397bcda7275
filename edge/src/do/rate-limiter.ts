import { DurableObject } from 'cloudflare:workers';

/** The answer to one request for tokens. */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until the tokens asked for are available again (0 when allowed). */
  retryAfter: number;
}

/** A bucket's size and refill: `limit` tokens at most, refilled at `limit` per `windowMs`. */
export interface Bucket {
  limit: number;
  /** Default one minute. */
  windowMs?: number;
}

/**
 * A token bucket for one key (`client:<id>`, `ip:<address>`, `work:…`, `issue:…`): `limit`
 * tokens at most, refilled continuously at `limit` per window. A request takes `cost` tokens:
 * 1 for a request count, its work units for inference. The state lives in memory only: an
 * object evicted after being idle restarts full, which only errs towards serving, and a flood
 * keeps its object alive. The bucket comes with each call, so changing a var applies at once.
 */
export class RateLimiter extends DurableObject<Env> {
  private tokens = Number.NaN;
  private at = 0;

  /** Refills the bucket up to now; returns the refill rate per ms. */
  private refill({ limit, windowMs = 60_000 }: Bucket): number {
    const now = Date.now();
    const perMs = limit / windowMs;
    this.tokens = Number.isNaN(this.tokens) ? limit : Math.min(limit, this.tokens + (now - this.at) * perMs);
    this.at = now;
    return perMs;
  }

  /**
   * Takes `cost` tokens if there are that many; refused, it takes none. A cost over the whole
   * bucket is never allowed (callers refuse such requests before asking).
   *
   * @example
   * const { allowed, retryAfter } = await env.RATE_LIMITER.get(id).take({ limit: 600 });
   * await stub.take({ limit: 2e9 }, 11_446_336); // 16 digits' work units
   */
  take(bucket: Bucket, cost = 1): RateDecision {
    const perMs = this.refill(bucket);
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return { allowed: true, retryAfter: 0 };
    }
    const wait = cost > bucket.limit ? (bucket.windowMs ?? 60_000) : (cost - this.tokens) / perMs;
    return { allowed: false, retryAfter: Math.max(1, Math.ceil(wait / 1000)) };
  }

  /**
   * Gives back `cost` tokens taken for a request that was then not served (never past the limit).
   *
   * @example
   * await stub.refund({ limit: 300, windowMs: 3_600_000 }, 1); // the registration failed
   */
  refund(bucket: Bucket, cost: number): void {
    this.refill(bucket);
    this.tokens = Math.min(bucket.limit, this.tokens + cost);
  }
}
