import type { Context } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import { WINDOW_MS } from '../../../protocol/profile/index.ts';
import { ApiError } from './api-error.ts';

const DAY_MS = 86_400_000;
/** Longest range a drift query may span. */
export const MAX_RANGE_MS = 90 * DAY_MS;
const DEFAULT_RANGE_MS = DAY_MS;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function instant(name: string, raw: string): number {
  const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : ISO_8601.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ApiError(
      400,
      ErrorCode.BAD_REQUEST,
      `query.${name} must be ms since the epoch or ISO 8601, got "${raw}"`,
    );
  }
  return ms;
}

/**
 * The `from`/`to` query of a drift read, in ms, widened to whole hour windows (from down, to
 * up). Defaults to the last 24 hours; 400 BAD_REQUEST unless from < to and the span is at
 * most 90 days.
 *
 * @example
 * const { from, to } = hourRange(c, Date.now()); // ?from=2026-11-28T00:00Z&to=1764374400000
 */
export function hourRange(c: Context, now: number): { from: number; to: number } {
  const rawTo = c.req.query('to');
  const rawFrom = c.req.query('from');
  const to = rawTo ? instant('to', rawTo) : now;
  const from = rawFrom ? instant('from', rawFrom) : to - DEFAULT_RANGE_MS;
  if (from >= to) throw new ApiError(400, ErrorCode.BAD_REQUEST, 'query.from must be before query.to');
  if (to - from > MAX_RANGE_MS) throw new ApiError(400, ErrorCode.BAD_REQUEST, 'the range may span at most 90 days');
  return { from: Math.floor(from / WINDOW_MS) * WINDOW_MS, to: Math.ceil(to / WINDOW_MS) * WINDOW_MS };
}
