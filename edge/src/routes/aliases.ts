import { sValidator } from '@hono/standard-validator';
import { Hono } from 'hono';
import * as v from 'valibot';
import { ErrorCode } from '../../../protocol/errors.ts';
import { AliasName, ClientId } from '../../../protocol/names.ts';
import { type AliasInfo, type Resolution, SetAlias } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { aliasParam, modelParam } from '../http/params.ts';
import { rejectInvalid } from '../http/validate.ts';
import { aliasVersion, getAlias, setAlias } from '../storage/aliases.ts';
import { versionExists } from '../storage/registry.ts';
import { requireModel } from './require-model.ts';

// `client` is the caller's id; canary assignment (a later issue) hashes it.
const ResolveQuery = v.object({ alias: v.optional(AliasName, 'production'), client: v.optional(ClientId) });

async function aliasNotFound(db: D1Database, model: string, alias: string): Promise<never> {
  await requireModel(db, model);
  throw new ApiError(404, ErrorCode.ALIAS_NOT_FOUND, `model "${model}" has no alias "${alias}"`);
}

/** Aliases and resolution under `/v1/models/{model}`. */
export const aliases = new Hono<AppEnv>()
  .put('/:model/aliases/:alias', requireScope('publish'), sValidator('json', SetAlias, rejectInvalid), async (c) => {
    const model = modelParam(c);
    const alias = aliasParam(c);
    const { version, reason } = c.req.valid('json');
    if (!(await versionExists(c.env.DB, model, version))) {
      await requireModel(c.env.DB, model);
      throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
    }
    const info = await setAlias(c.env.DB, {
      model,
      alias,
      version,
      reason: reason ?? null,
      keyId: c.var.caller.keyId,
      now: Date.now(),
    });
    return c.json<AliasInfo>(info);
  })
  .get('/:model/aliases/:alias', requireScope('read'), async (c) => {
    const model = modelParam(c);
    const alias = aliasParam(c);
    const info = await getAlias(c.env.DB, model, alias);
    return info ? c.json<AliasInfo>(info) : aliasNotFound(c.env.DB, model, alias);
  })
  .get(
    '/:model/resolve',
    requireScope('client', 'read'),
    sValidator('query', ResolveQuery, rejectInvalid),
    async (c) => {
      const model = modelParam(c);
      const { alias } = c.req.valid('query');
      const version = await aliasVersion(c.env.DB, model, alias);
      if (version === null) return aliasNotFound(c.env.DB, model, alias);
      return c.json<Resolution>({ model, alias, version, role: 'stable' });
    },
  );
