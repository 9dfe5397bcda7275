import { sValidator } from '@hono/standard-validator';
import { Hono } from 'hono';
import * as v from 'valibot';
import { ErrorCode } from '../../../protocol/errors.ts';
import { AliasName, ClientId } from '../../../protocol/names.ts';
import { type AliasInfo, type Resolution, SetAlias } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { limitBody, MAX_SMALL_BODY_BYTES } from '../http/body-limit.ts';
import { matchesEtag } from '../http/etag.ts';
import { aliasParam, modelParam } from '../http/params.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { rejectInvalid, strictJson } from '../http/validate.ts';
import { getAlias, setAlias } from '../storage/aliases.ts';
import { resolveAlias } from '../storage/resolve.ts';
import { versionStatus } from '../storage/rollout.ts';
import { requireModel } from './require-model.ts';

// `client` is the caller's id; without it the caller gets the stable version.
const ResolveQuery = v.object({ alias: v.optional(AliasName, 'production'), client: v.optional(ClientId) });

/**
 * Throws 404 MODEL_NOT_FOUND, or ALIAS_NOT_FOUND when the model exists.
 *
 * @example
 * if (!row) return aliasNotFound(c.env.DB, 'digits', 'staging');
 */
export async function aliasNotFound(db: D1Database, model: string, alias: string): Promise<never> {
  await requireModel(db, model);
  throw new ApiError(404, ErrorCode.ALIAS_NOT_FOUND, `model "${model}" has no alias "${alias}"`);
}

/**
 * Throws unless `version` of `model` exists and is not archived: 404 MODEL_NOT_FOUND or
 * VERSION_NOT_FOUND, 409 VERSION_ARCHIVED.
 *
 * @example
 * await requireReadyVersion(c.env.DB, 'digits', 3);
 */
export async function requireReadyVersion(db: D1Database, model: string, version: number): Promise<void> {
  const status = await versionStatus(db, model, version);
  if (status === null) {
    await requireModel(db, model);
    throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
  }
  if (status === 'archived') throw archived(model, version);
}

/**
 * The error for an archived version named as a target.
 *
 * @example
 * if (status === 'archived') throw archived('digits', 1);
 */
export function archived(model: string, version: number): ApiError {
  return new ApiError(409, ErrorCode.VERSION_ARCHIVED, `version ${version} of "${model}" is archived`);
}

/** Aliases and resolution under `/v1/models/{model}`. */
export const aliases = new Hono<AppEnv>()
  .put(
    '/:model/aliases/:alias',
    requireScope('publish'),
    limitBody(MAX_SMALL_BODY_BYTES),
    strictJson,
    sValidator('json', SetAlias, rejectInvalid),
    async (c) => {
      const model = modelParam(c);
      const alias = aliasParam(c);
      const { version, reason } = c.req.valid('json');
      await requireReadyVersion(c.env.DB, model, version);
      const info = await setAlias(c.env.DB, {
        model,
        alias,
        version,
        reason: reason ?? null,
        keyId: c.var.caller.keyId,
        now: Date.now(),
      });
      // The batch re-checks the status: null means the version was archived meanwhile.
      if (!info) throw archived(model, version);
      return c.json<AliasInfo>(info);
    },
  )
  .get('/:model/aliases/:alias', requireScope('read'), async (c) => {
    const model = modelParam(c);
    const alias = aliasParam(c);
    const info = await getAlias(c.env.DB, model, alias);
    return info ? c.json<AliasInfo>(info) : aliasNotFound(c.env.DB, model, alias);
  })
  .get(
    '/:model/resolve',
    requireScope('client', 'read'),
    rateLimit(),
    sValidator('query', ResolveQuery, rejectInvalid),
    async (c) => {
      const model = modelParam(c);
      const { alias, client } = c.req.valid('query');
      const answer = await resolveAlias(c.env.DB, model, alias, client);
      if (!answer) return aliasNotFound(c.env.DB, model, alias);
      // The answer is small but clients poll it for new versions: an ETag of what it says lets
      // an unchanged poll end in a 304 without a body.
      const etag = `"${answer.version}-${answer.role}-${answer.shadow ?? 'none'}"`;
      const headers = { ETag: etag, 'Cache-Control': 'no-cache' };
      if (matchesEtag(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
      return c.json<Resolution>(answer, 200, headers);
    },
  );
