import { EdgeloopError } from '../../protocol/errors.ts';
import { HttpFailure } from '../edge-client.ts';

/** First retry within ~1 s; a sync that keeps failing retries at most every 5 minutes. */
export const RETRY_BASE_MS = 1000;
export const RETRY_CAP_MS = 5 * 60_000;

/**
 * Whether a failed sync is worth retrying on its own: no connection, 408, 429 and 5xx. Other
 * 4xx (SEQ_GAP, INVALID_CLIENT_TOKEN, CLIENT_REVOKED, a refused body) will fail the same way
 * until a person or a new release acts, so they are reported, not retried.
 *
 * @example
 * isRetryable(new EdgeloopError('NETWORK', 'offline')); // true
 */
export function isRetryable(error: unknown): boolean {
  const e = EdgeloopError.from(error);
  if (e.code === 'NETWORK' || e.code === 'RATE_LIMITED') return true;
  const status = e.cause instanceof HttpFailure ? e.cause.status : null;
  return status !== null && (status >= 500 || status === 408 || status === 429);
}

/**
 * Milliseconds the edge asked us to wait (Retry-After in seconds or as an HTTP date), or null.
 *
 * @example
 * retryAfterMs(error, Date.now()); // 30_000 for `Retry-After: 30`
 */
export function retryAfterMs(error: unknown, now: number): number | null {
  const cause = error instanceof EdgeloopError ? error.cause : undefined;
  const header = cause instanceof HttpFailure ? cause.retryAfter?.trim() : undefined;
  if (!header) return null;
  if (/^\d+$/.test(header)) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * The wait before retry number `attempt` (1-based): "full jitter", uniformly random in
 * [0, min(cap, base·2^(attempt−1))), so many devices that failed together do not return
 * together; never shorter than the edge's Retry-After.
 *
 * @example
 * backoffMs(3, () => 0.5, null); // 2000: half of min(300 000, 1000·2²)
 */
export function backoffMs(attempt: number, random: () => number, retryAfter: number | null): number {
  const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  const jitter = Math.floor(random() * ceiling);
  return retryAfter === null ? jitter : Math.max(retryAfter, jitter);
}
