import { sValidator } from '@hono/standard-validator';
import { type Context, Hono } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import { sha256Hex } from '../../../protocol/hash.ts';
import {
  type CurrentRound,
  Evaluation,
  type EvaluationReceipt,
  EXAMPLES_HEADER,
  type FullRoundSettings,
  HELD_OUT_HEADER,
  MAX_ROUND_MS,
  OpenRound,
  ROUND_DEFAULTS,
  type Round,
  type RoundList,
  type UpdateReceipt,
} from '../../../protocol/rounds.ts';
import type { AppEnv } from '../app-env.ts';
import { tokenClient } from '../auth/client-token.ts';
import { requireDevice } from '../auth/device.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { limitBody, MAX_SMALL_BODY_BYTES } from '../http/body-limit.ts';
import { modelParam } from '../http/params.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { readBody } from '../http/read-body.ts';
import { rejectInvalid, strictJson } from '../http/validate.ts';
import { requireModel } from '../routes/require-model.ts';
import { aliasRow } from '../storage/aliases.ts';
import { getVersion } from '../storage/registry.ts';
import { readVerifiedBlob } from '../storage/verify.ts';
import { updateProblem } from './aggregate.ts';
import { roundBase } from './base.ts';
import { orThrow } from './refusal.ts';
import { roundsStub } from './stub.ts';

/** Round ids as the edge mints them (`r_` and 16 hex digits). */
const ROUND_ID = /^r_[0-9a-f]{16}$/;

function roundParam(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!ROUND_ID.test(id)) throw new ApiError(404, ErrorCode.ROUND_NOT_FOUND, `no round "${id}"`);
  return id;
}

const invalid = (message: string) => new ApiError(422, ErrorCode.INVALID_UPDATE, message);

/** The settings of a new round: the body's, defaults for the rest, checked together. */
function fullSettings(asked: OpenRound['settings'], now: number): FullRoundSettings {
  const { durationMs, ...defaults } = ROUND_DEFAULTS;
  const settings: FullRoundSettings = { ...defaults, deadline: now + durationMs, ...asked };
  const bad = (message: string) => new ApiError(400, ErrorCode.INVALID_BODY, `settings: ${message}`);
  if (settings.maxClients < settings.minClients)
    throw bad(`maxClients ${settings.maxClients} is below minClients ${settings.minClients}`);
  if (settings.deadline <= now) throw bad('deadline is in the past');
  if (settings.deadline > now + MAX_ROUND_MS) throw bad('deadline is more than 7 days ahead');
  return settings;
}

/** Federated rounds under `/v1/models/{model}` (protocol/rounds.ts). */
export const rounds = new Hono<AppEnv>()
  .get('/:model/rounds/current', requireScope('client'), rateLimit(), async (c) => {
    const model = modelParam(c);
    const clientId = await tokenClient(c);
    const answer = await roundsStub(c.env, model).ask(model, clientId);
    return c.json<CurrentRound>({ v: 1, ...answer });
  })
  .post(
    '/:model/rounds',
    requireScope('publish'),
    limitBody(MAX_SMALL_BODY_BYTES),
    strictJson,
    sValidator('json', OpenRound, rejectInvalid),
    async (c) => {
      const model = modelParam(c);
      await requireModel(c.env.DB, model);
      const body = c.req.valid('json');
      const alias = body.alias ?? 'production';
      let baseVersion = body.baseVersion;
      if (baseVersion === undefined) {
        const row = await aliasRow(c.env.DB, model, alias);
        if (!row)
          throw new ApiError(
            404,
            ErrorCode.ALIAS_NOT_FOUND,
            `model "${model}" has no alias "${alias}"; name baseVersion`,
          );
        baseVersion = row.version;
      }
      const info = await getVersion(c.env.DB, model, baseVersion);
      if (!info) throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${baseVersion}`);
      if (info.status === 'archived')
        throw new ApiError(409, ErrorCode.VERSION_ARCHIVED, `version ${baseVersion} is archived`);
      const base = await roundBase(c.env.ARTIFACTS, info);
      const settings = fullSettings(body.settings, Date.now());
      const round = orThrow(
        await roundsStub(c.env, model).open(model, {
          alias,
          baseVersion,
          settings,
          weights: base.weights,
          openedBy: c.var.caller.keyId,
        }),
      );
      return c.json<Round>(round, 201);
    },
  )
  .get('/:model/rounds', requireScope('read'), async (c) => {
    const model = modelParam(c);
    await requireModel(c.env.DB, model);
    const { rounds: list, privacy } = await roundsStub(c.env, model).list(model);
    return c.json<RoundList>({ model, rounds: list, privacy });
  })
  .get('/:model/rounds/:id', requireScope('read'), async (c) => {
    const model = modelParam(c);
    const id = roundParam(c);
    const round = await roundsStub(c.env, model).get(model, id);
    if (!round) throw new ApiError(404, ErrorCode.ROUND_NOT_FOUND, `${model} has no round ${id}`);
    return c.json<Round>(round);
  })
  .post('/:model/rounds/:id/cancel', requireScope('publish'), async (c) => {
    const model = modelParam(c);
    const id = roundParam(c);
    return c.json<Round>(orThrow(await roundsStub(c.env, model).cancel(model, id, c.var.caller.keyId)));
  })
  .get('/:model/rounds/:id/candidate', requireScope('client'), rateLimit(), async (c) => {
    const model = modelParam(c);
    const id = roundParam(c);
    const clientId = await requireDevice(c);
    const { sha256 } = orThrow(await roundsStub(c.env, model).candidate(model, id, clientId));
    const bytes = await readVerifiedBlob(c.env.ARTIFACTS, sha256, `${model} round ${id} candidate`);
    return c.body(bytes, 200, {
      'Content-Type': 'application/octet-stream',
      ETag: `"${sha256}"`,
      'Cache-Control': 'private, no-store',
    });
  })
  .post(
    '/:model/rounds/:id/evaluations',
    requireScope('client'),
    rateLimit(),
    limitBody(MAX_SMALL_BODY_BYTES),
    strictJson,
    sValidator('json', Evaluation, rejectInvalid),
    async (c) => {
      const model = modelParam(c);
      const id = roundParam(c);
      const clientId = await requireDevice(c);
      const receipt = orThrow(await roundsStub(c.env, model).evaluation(model, id, clientId, c.req.valid('json')));
      return c.json<EvaluationReceipt>(receipt);
    },
  )
  .post('/:model/rounds/:id/updates', requireScope('client'), rateLimit(), async (c) => {
    const model = modelParam(c);
    const id = roundParam(c);
    const clientId = await requireDevice(c);
    const examples = Number(c.req.header(EXAMPLES_HEADER));
    if (!Number.isInteger(examples) || examples < 1)
      throw invalid(`send ${EXAMPLES_HEADER}: the examples the update was trained on (an integer ≥ 1)`);
    const heldOut = Number(c.req.header(HELD_OUT_HEADER) ?? 0);
    if (!Number.isInteger(heldOut) || heldOut < 0) throw invalid(`${HELD_OUT_HEADER} must be an integer ≥ 0`);
    const stub = roundsStub(c.env, model);
    const round = await stub.get(model, id);
    if (!round) throw new ApiError(404, ErrorCode.ROUND_NOT_FOUND, `${model} has no round ${id}`);
    if (round.status !== 'open') throw new ApiError(409, ErrorCode.ROUND_CLOSED, `round ${id} is ${round.status}`);
    const current = await stub.current(model, null);
    const values = current?.id === id ? current.weights.values : null;
    if (values === null) throw new ApiError(409, ErrorCode.ROUND_CLOSED, `round ${id} takes no more updates`);
    const bytes = await readBody(c.req.raw, values * 4);
    if (bytes.byteLength % 4 !== 0) throw invalid(`${bytes.byteLength} bytes is not a whole number of float32 values`);
    const delta = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const problem = updateProblem(delta, values);
    if (problem) throw invalid(problem);
    const receipt = orThrow(
      await stub.submit(model, {
        roundId: id,
        clientId,
        examples,
        heldOut,
        sha256: await sha256Hex(bytes),
        bytes: bytes.slice().buffer,
      }),
    );
    return c.json<UpdateReceipt>(receipt);
  });
