import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { ApiError } from '../http/api-error.ts';

/**
 * A refusal from the RoundCoordinator, as a value: exceptions lose their class across
 * Durable Object RPC, so the object answers this and the route throws it as an ApiError.
 */
export interface Refusal {
  refused: { status: ContentfulStatusCode; code: ErrorCode; message: string };
}

export const refuse = (status: ContentfulStatusCode, code: ErrorCode, message: string): Refusal => ({
  refused: { status, code, message },
});

/**
 * The value of an answer, or its refusal thrown as the ApiError it stands for.
 *
 * @example
 * const round = orThrow(await roundsStub(env, model).cancel(model, id, keyId));
 */
export function orThrow<T extends object>(answer: T | Refusal): Exclude<T, Refusal> {
  if ('refused' in answer) {
    const { status, code, message } = (answer as Refusal).refused;
    throw new ApiError(status, code, message);
  }
  return answer as Exclude<T, Refusal>;
}
