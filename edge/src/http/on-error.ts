import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ErrorCode } from '../../../protocol/errors.ts';
import { OIP_ERROR_CODE_HEADER, type OipError } from '../../../protocol/oip.ts';
import type { ErrorBody } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from './api-error.ts';

// Codes for HTTPExceptions raised by Hono itself (e.g. malformed JSON in a validator).
const codeByStatus: Partial<Record<number, ErrorCode>> = {
  400: ErrorCode.INVALID_BODY,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
};

/** The contract's error body; under /v2 the Open Inference Protocol's, with the code in a header. */
function errorResponse(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
) {
  if (c.req.path === '/v2' || c.req.path.startsWith('/v2/')) {
    return c.json<OipError>({ error: message }, status, { ...headers, [OIP_ERROR_CODE_HEADER]: code });
  }
  return c.json<ErrorBody>({ error: { code, message } }, status, headers);
}

/** Renders every thrown error as the contract's error body; never leaks a stack trace. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) {
    return errorResponse(c, err.status as ContentfulStatusCode, err.code, err.message, { ...err.headers });
  }
  if (err instanceof HTTPException && err.status < 500) {
    const code = codeByStatus[err.status] ?? ErrorCode.BAD_REQUEST;
    return errorResponse(c, err.status as ContentfulStatusCode, code, err.message || code);
  }
  console.error('unhandled error', c.req.method, c.req.path, err);
  return errorResponse(c, 500, ErrorCode.INTERNAL, 'internal error');
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, 404, ErrorCode.NOT_FOUND, `no route for ${c.req.method} ${c.req.path}`);
