import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import { HttpFailure } from '../edge-client.ts';
import { backoffMs, isRetryable, RETRY_CAP_MS, retryAfterMs } from './retry.ts';

const http = (code: 'EDGE_ERROR' | 'RATE_LIMITED' | 'SEQ_GAP', status: number, retryAfter: string | null = null) =>
  new EdgeloopError(code, `HTTP ${status}`, { cause: new HttpFailure(status, retryAfter) });

describe('retry policy', () => {
  it('retries NETWORK, 408, 429 and 5xx, not other 4xx', () => {
    expect(isRetryable(new EdgeloopError('NETWORK', 'offline'))).toBe(true);
    expect(isRetryable(http('RATE_LIMITED', 429))).toBe(true);
    expect(isRetryable(http('EDGE_ERROR', 503))).toBe(true);
    expect(isRetryable(http('EDGE_ERROR', 500))).toBe(true);
    expect(isRetryable(http('EDGE_ERROR', 408))).toBe(true);
    expect(isRetryable(http('EDGE_ERROR', 400))).toBe(false);
    expect(isRetryable(http('SEQ_GAP', 409))).toBe(false);
    expect(isRetryable(new EdgeloopError('EDGE_ERROR', 'reply does not add up'))).toBe(false);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(retryAfterMs(http('RATE_LIMITED', 429, '30'), now)).toBe(30_000);
    expect(retryAfterMs(http('EDGE_ERROR', 503, new Date(now + 90_000).toUTCString()), now)).toBe(90_000);
    expect(retryAfterMs(http('EDGE_ERROR', 503, 'soon'), now)).toBeNull();
    expect(retryAfterMs(http('EDGE_ERROR', 503), now)).toBeNull();
  });

  it('backs off exponentially with full jitter up to the cap, never under Retry-After', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, top, null))).toEqual([999, 1999, 3999, 7999, 15_999]);
    expect(backoffMs(30, top, null)).toBe(RETRY_CAP_MS - 1);
    expect(backoffMs(3, () => 0, null)).toBe(0);
    expect(backoffMs(3, () => 0.5, null)).toBe(2000);
    expect(backoffMs(1, () => 0.5, 30_000)).toBe(30_000);
    expect(backoffMs(12, () => 0.5, 30_000)).toBe(150_000);
  });
});
