import type { Context } from 'hono';
import * as v from 'valibot';
import { ErrorCode } from '../../../protocol/errors.ts';
import { AliasName, ClientId, ModelName } from '../../../protocol/names.ts';
import { ApiError } from './api-error.ts';

function nameParam(c: Context, param: string, schema: v.GenericSchema<string, string>): string {
  const result = v.safeParse(schema, c.req.param(param));
  if (!result.success) throw new ApiError(400, ErrorCode.INVALID_NAME, result.issues[0].message);
  return result.output;
}

/** The `:model` path parameter, checked against {@link ModelName}. */
export const modelParam = (c: Context): string => nameParam(c, 'model', ModelName);

/** The `:alias` path parameter, checked against {@link AliasName}. */
export const aliasParam = (c: Context): string => nameParam(c, 'alias', AliasName);

/** The `:clientId` path parameter, checked against {@link ClientId}. */
export const clientIdParam = (c: Context): string => nameParam(c, 'clientId', ClientId);

/** The `:version` path parameter as a positive integer of at most nine digits (`MAX_VERSION`). */
export function versionParam(c: Context): number {
  const raw = c.req.param('version') ?? '';
  if (!/^[1-9]\d{0,8}$/.test(raw)) {
    throw new ApiError(400, ErrorCode.BAD_REQUEST, `version must be a positive integer, got "${raw}"`);
  }
  return Number(raw);
}
