import { sValidator } from '@hono/standard-validator';
import { Hono, type MiddlewareHandler } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { AliasInfo } from '../../../protocol/registry.ts';
import { type ArchiveResult, type Rollout, SetRollout } from '../../../protocol/rollout.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { limitBody, MAX_SMALL_BODY_BYTES } from '../http/body-limit.ts';
import { aliasParam, modelParam, versionParam } from '../http/params.ts';
import { mediaType } from '../http/read-body.ts';
import { rejectInvalid, strictJson } from '../http/validate.ts';
import { aliasRow } from '../storage/aliases.ts';
import {
  aliasesUsing,
  archiveVersion,
  previousVersion,
  rollbackAlias,
  setRollout,
  versionStatus,
} from '../storage/rollout.ts';
import { aliasNotFound, archived, requireReadyVersion } from './aliases.ts';
import { requireModel } from './require-model.ts';

const conflict = () =>
  new ApiError(409, ErrorCode.CONFLICT, 'the alias or a version changed while this request ran; retry');

// Hono's json validator reads a body sent without a JSON content type as `{}`, which is a
// valid rollout (it clears it): refuse such a body rather than clear a rollout by mistake.
const jsonOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!/^application\/([\w.-]+\+)?json$/.test(mediaType(c.req.raw))) {
    throw new ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the body as application/json');
  }
  await next();
};

/** Rollout, rollback and archive under `/v1/models/{model}`. */
export const rollout = new Hono<AppEnv>()
  .put(
    '/:model/aliases/:alias/rollout',
    requireScope('publish'),
    jsonOnly,
    limitBody(MAX_SMALL_BODY_BYTES),
    strictJson,
    sValidator('json', SetRollout, rejectInvalid),
    async (c) => {
      const model = modelParam(c);
      const alias = aliasParam(c);
      const { canary, shadow, reason } = c.req.valid('json');
      if (!(await aliasRow(c.env.DB, model, alias))) return aliasNotFound(c.env.DB, model, alias);
      for (const target of [canary, shadow]) if (target) await requireReadyVersion(c.env.DB, model, target.version);
      const wanted: Rollout = {};
      if (canary) wanted.canary = canary;
      if (shadow) wanted.shadow = shadow;
      const info = await setRollout(c.env.DB, {
        model,
        alias,
        rollout: wanted,
        reason: reason ?? null,
        keyId: c.var.caller.keyId,
        now: Date.now(),
      });
      if (!info) throw conflict();
      return c.json<AliasInfo>(info);
    },
  )
  .post('/:model/aliases/:alias/rollback', requireScope('publish'), async (c) => {
    const model = modelParam(c);
    const alias = aliasParam(c);
    const row = await aliasRow(c.env.DB, model, alias);
    if (!row) return aliasNotFound(c.env.DB, model, alias);
    const to = await previousVersion(c.env.DB, model, alias);
    if (to === null) {
      throw new ApiError(409, ErrorCode.NOTHING_TO_ROLL_BACK, `alias "${alias}" of "${model}" has no earlier version`);
    }
    if ((await versionStatus(c.env.DB, model, to)) === 'archived') throw archived(model, to);
    const info = await rollbackAlias(c.env.DB, {
      model,
      alias,
      from: row.version,
      to,
      keyId: c.var.caller.keyId,
      now: Date.now(),
    });
    if (!info) throw conflict();
    return c.json<AliasInfo>(info);
  })
  .post('/:model/versions/:version/archive', requireScope('publish'), async (c) => {
    const model = modelParam(c);
    const version = versionParam(c);
    const done = await archiveVersion(c.env.DB, model, version);
    if (!done) {
      // Work out why nothing changed; an already archived version is answered as success.
      const status = await versionStatus(c.env.DB, model, version);
      if (status === null) {
        await requireModel(c.env.DB, model);
        throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
      }
      if (status === 'ready') {
        const users = await aliasesUsing(c.env.DB, model, version);
        if (users.length === 0) throw conflict();
        throw new ApiError(409, ErrorCode.VERSION_IN_USE, `version ${version} is in use by: ${users.join(', ')}`);
      }
    }
    return c.json<ArchiveResult>({ model, version, status: 'archived' });
  });
