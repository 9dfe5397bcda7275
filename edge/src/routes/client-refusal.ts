import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiError } from '../http/api-error.ts';

/**
 * Why a client with a valid token may not write: it has no registration (e.g. the database
 * was reset: 401, register again) or it was revoked (403).
 *
 * @example
 * if (standing !== 'ok') throw clientRefusal(standing, clientId);
 */
export function clientRefusal(standing: 'unknown' | 'revoked', clientId: string): ApiError {
  if (standing === 'revoked') {
    return new ApiError(403, ErrorCode.CLIENT_REVOKED, `client "${clientId}" has been revoked`);
  }
  return new ApiError(
    401,
    ErrorCode.INVALID_CLIENT_TOKEN,
    `client "${clientId}" is not registered; register with POST /v1/clients`,
  );
}
