import { sValidator } from '@hono/standard-validator';
import { Hono } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Policy, type PolicyInfo, ROUND_DEFAULTS } from '../../../protocol/rounds.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { limitBody, MAX_SMALL_BODY_BYTES } from '../http/body-limit.ts';
import { aliasParam, modelParam } from '../http/params.ts';
import { rejectInvalid, strictJson } from '../http/validate.ts';
import { requireModel } from '../routes/require-model.ts';
import { aliasRow } from '../storage/aliases.ts';
import { roundsStub } from './stub.ts';

/** Continuous training of an alias: `GET/PUT /v1/models/{model}/aliases/{alias}/policy`. */
export const policies = new Hono<AppEnv>()
  .get('/:model/aliases/:alias/policy', requireScope('read'), async (c) => {
    const model = modelParam(c);
    const alias = aliasParam(c);
    await requireModel(c.env.DB, model);
    return c.json<PolicyInfo>(await roundsStub(c.env, model).policy(model, alias));
  })
  .put(
    '/:model/aliases/:alias/policy',
    requireScope('publish'),
    limitBody(MAX_SMALL_BODY_BYTES),
    strictJson,
    sValidator('json', Policy, rejectInvalid),
    async (c) => {
      const model = modelParam(c);
      const alias = aliasParam(c);
      const policy = c.req.valid('json');
      if (!(await aliasRow(c.env.DB, model, alias))) {
        await requireModel(c.env.DB, model);
        throw new ApiError(404, ErrorCode.ALIAS_NOT_FOUND, `model "${model}" has no alias "${alias}"`);
      }
      const min = policy.round.minClients ?? ROUND_DEFAULTS.minClients;
      const max = policy.round.maxClients ?? ROUND_DEFAULTS.maxClients;
      if (max < min)
        throw new ApiError(400, ErrorCode.INVALID_BODY, `round: maxClients ${max} is below minClients ${min}`);
      return c.json<PolicyInfo>(await roundsStub(c.env, model).setPolicy(model, alias, policy));
    },
  );
