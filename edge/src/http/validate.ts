import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ErrorCode } from '../../../protocol/errors.ts';
import { parseStrictJson } from '../../../protocol/strict-json.ts';
import { ApiError } from './api-error.ts';
import { describeIssues, type IssueLike } from './issues.ts';
import { mediaType } from './read-body.ts';

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/;

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
  if (result.target === 'json' && !JSON_TYPE.test(mediaType(c.req.raw))) {
    throw new ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the body as application/json');
  }
  const code = result.target === 'json' ? ErrorCode.INVALID_BODY : ErrorCode.BAD_REQUEST;
  throw new ApiError(400, code, describeIssues(result.error, result.target === 'query' ? 'query' : ''));
}

/**
 * Runs before `sValidator('json', …)`: a JSON body must be valid UTF-8 (Hono's own parsing
 * would store invalid bytes as U+FFFD) and a JSON object (valibot's object and record schemas
 * take an array as `{}`). Other content types pass on, for the validator's hook to answer 415.
 *
 * @example
 * app.put('/x', strictJson, sValidator('json', SetAlias, rejectInvalid), handler);
 */
export const strictJson = createMiddleware(async (c, next) => {
  if (!JSON_TYPE.test(mediaType(c.req.raw))) return next();
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  let json: unknown;
  try {
    json = parseStrictJson(bytes);
  } catch {
    throw new ApiError(400, ErrorCode.INVALID_BODY, 'body is not valid JSON in UTF-8');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ApiError(400, ErrorCode.INVALID_BODY, 'body must be a JSON object');
  }
  await next();
});
