import type { Context } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiError } from './api-error.ts';
import { describeIssues, type IssueLike } from './issues.ts';
import { mediaType } from './read-body.ts';

type Result = { success: true } | { success: false; error: readonly IssueLike[] };

/**
 * Hook for `sValidator` that turns a failed validation into a 400 naming the field
 * (415 when a JSON body was sent with another content type).
 *
 * @example
 * app.put('/x', sValidator('json', SetAlias, rejectInvalid), (c) => c.json(c.req.valid('json')));
 */
export function rejectInvalid(result: Result & { target: string }, c: Context): void {
  if (result.success) return;
  if (result.target === 'json' && !/^application\/([\w.-]+\+)?json$/.test(mediaType(c.req.raw))) {
    throw new ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the body as application/json');
  }
  const code = result.target === 'json' ? ErrorCode.INVALID_BODY : ErrorCode.BAD_REQUEST;
  throw new ApiError(400, code, describeIssues(result.error, result.target === 'query' ? 'query' : ''));
}
