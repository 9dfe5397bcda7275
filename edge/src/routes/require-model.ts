import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiError } from '../http/api-error.ts';
import { modelExists } from '../storage/registry.ts';

/**
 * Throws 404 MODEL_NOT_FOUND unless the model has been published.
 *
 * @example
 * await requireModel(c.env.DB, 'digits');
 */
export async function requireModel(db: D1Database, model: string): Promise<void> {
  if (!(await modelExists(db, model))) {
    throw new ApiError(404, ErrorCode.MODEL_NOT_FOUND, `model "${model}" does not exist`);
  }
}
