import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorCode } from '../../../protocol/errors.ts';

/**
 * An HTTPException that carries a stable {@link ErrorCode}; `app.onError` renders it as
 * `{"error": {"code", "message"}}`.
 *
 * @example
 * throw new ApiError(404, ErrorCode.MODEL_NOT_FOUND, `model "${name}" does not exist`);
 */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  /** Headers the error response carries (e.g. `Retry-After` of a 429). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: ContentfulStatusCode, code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(status, { message });
    this.code = code;
    this.headers = headers;
  }
}
