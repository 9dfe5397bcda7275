import { bodyLimit } from 'hono/body-limit';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiError } from './api-error.ts';

/** Largest body of the small JSON writes (alias moves, rollouts, keys): a long reason fits. */
export const MAX_SMALL_BODY_BYTES = 64 * 1024;

/**
 * Refuses a body over `maxSize` bytes with 413 PAYLOAD_TOO_LARGE before it is read.
 *
 * @example
 * app.put('/x', limitBody(MAX_SMALL_BODY_BYTES), handler);
 */
export function limitBody(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds ${maxSize} bytes`);
    },
  });
}
