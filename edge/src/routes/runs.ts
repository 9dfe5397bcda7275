import { sValidator } from '@hono/standard-validator';
import { type Context, Hono } from 'hono';
import * as v from 'valibot';
import { CLIENT_TOKEN_HEADER } from '../../../protocol/clients.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ModelName } from '../../../protocol/names.ts';
import {
  CreateRun,
  type LoggedMetrics,
  LogMetrics,
  MAX_COMPARE_RUNS,
  MAX_TAGS,
  type MetricSeries,
  type Run,
  type RunComparison,
  RunId,
  RunKey,
  type RunList,
  RunStatus,
  type RunSummary,
  UpdateRun,
} from '../../../protocol/runs.ts';
import type { AppEnv } from '../app-env.ts';
import { tokenClient } from '../auth/client-token.ts';
import { requireDevice } from '../auth/device.ts';
import { requireScope } from '../auth/require-scope.ts';
import { grants } from '../auth/scopes.ts';
import { ApiError } from '../http/api-error.ts';
import { limitBody } from '../http/body-limit.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { rejectInvalid, strictJson } from '../http/validate.ts';
import { clientStanding } from '../storage/clients.ts';
import { appendMetrics, metricSeries } from '../storage/run-metrics.ts';
import { existingVersions, findRun, getRun, insertRun, listRuns, newRunId, updateRun } from '../storage/runs.ts';
import { compareRuns } from './compare-runs.ts';
import { requireModel } from './require-model.ts';

/** Largest JSON body a run write takes: 1000 metric points with long keys fit. */
export const MAX_RUN_BODY_BYTES = 1024 * 1024;

const limitRunBody = limitBody(MAX_RUN_BODY_BYTES);

const ListQuery = v.object({
  model: v.optional(ModelName),
  status: v.optional(RunStatus),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,3}$/, 'limit must be 1 to 100'),
      v.transform(Number),
      v.minValue(1),
      v.maxValue(100),
    ),
  ),
  cursor: v.optional(
    v.pipe(v.string(), v.regex(/^[1-9]\d{0,15}$/, 'cursor must be a nextCursor'), v.transform(Number)),
  ),
});

const CompareQuery = v.object({
  ids: v.pipe(
    v.string(),
    v.transform((s) => s.split(',')),
    v.array(RunId),
    v.minLength(1),
    v.maxLength(MAX_COMPARE_RUNS, `compare at most ${MAX_COMPARE_RUNS} runs`),
    v.check((ids) => new Set(ids).size === ids.length, 'ids must not repeat'),
  ),
});

const runNotFound = (id: string) => new ApiError(404, ErrorCode.RUN_NOT_FOUND, `no run with id "${id}"`);

function runIdParam(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!v.is(RunId, id)) throw runNotFound(id);
  return id;
}

/**
 * The run named by `:id`, for a write. Keys with `publish` may write to any run; a device
 * (client key) only to the runs its token created: every device shares the public key, so the
 * key says nothing about whose run it is. 403 otherwise, before anything is written.
 */
async function runToWrite(c: Context<AppEnv>): Promise<RunSummary> {
  const id = runIdParam(c);
  const run = await findRun(c.env.DB, id);
  if (!run) throw runNotFound(id);
  if (grants(c.var.caller.scopes, 'publish')) return run;
  const clientId = await tokenClient(c);
  if (run.clientId === null || clientId !== run.clientId) {
    throw new ApiError(
      403,
      ErrorCode.FORBIDDEN,
      `only the device that created run "${id}" may write to it, with its ${CLIENT_TOKEN_HEADER}`,
    );
  }
  const standing = await clientStanding(c.env.DB, clientId);
  if (standing !== 'ok') throw new ApiError(403, ErrorCode.CLIENT_REVOKED, `client "${clientId}" may no longer write`);
  return run;
}

/** The run with its metrics and versions; 404 RUN_NOT_FOUND when there is none. */
async function readRun(db: D1Database, id: string): Promise<Run> {
  const run = await getRun(db, id);
  if (!run) throw runNotFound(id);
  return run;
}

async function requireVersions(db: D1Database, model: string, versions: readonly number[]): Promise<void> {
  if (versions.length === 0) return;
  const found = new Set(await existingVersions(db, model, versions));
  const missing = versions.filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${missing.join(', ')}`);
  }
}

const finished = (run: RunSummary) =>
  new ApiError(409, ErrorCode.RUN_FINISHED, `run "${run.id}" is ${run.status}; it takes no more metrics`);

/**
 * Experiment runs under `/v1/runs`, like MLflow's: params, metric series, tags and the
 * versions a run produced. `publish` keys manage all runs; a device (client key with its
 * client token) creates runs of published models and writes only to its own; `read` keys read.
 */
export const runs = new Hono<AppEnv>()
  .post(
    '/',
    requireScope('publish', 'client'),
    rateLimit(),
    limitRunBody,
    strictJson,
    sValidator('json', CreateRun, rejectInvalid),
    async (c) => {
      const body = c.req.valid('json');
      // A device's run is its own (written only with its token); a publish key's is the operator's.
      const clientId = grants(c.var.caller.scopes, 'publish') ? null : await requireDevice(c);
      await requireModel(c.env.DB, body.model);
      if (body.parentVersion !== undefined) await requireVersions(c.env.DB, body.model, [body.parentVersion]);
      const run = await insertRun(c.env.DB, {
        id: newRunId(),
        model: body.model,
        name: body.name ?? null,
        params: body.params ?? {},
        tags: body.tags ?? {},
        parentVersion: body.parentVersion ?? null,
        keyId: c.var.caller.keyId,
        clientId,
        now: Date.now(),
      });
      return c.json<Run>({ ...run, metrics: {}, versions: [] }, 201);
    },
  )
  .get('/', requireScope('read'), sValidator('query', ListQuery, rejectInvalid), async (c) => {
    const { model, status, limit, cursor } = c.req.valid('query');
    const page = await listRuns(c.env.DB, {
      model: model ?? null,
      status: status ?? null,
      limit: limit ?? 50,
      cursor: cursor ?? null,
    });
    return c.json<RunList>(page);
  })
  .get('/compare', requireScope('read'), sValidator('query', CompareQuery, rejectInvalid), async (c) => {
    return c.json<RunComparison>(await compareRuns(c.env.DB, c.req.valid('query').ids));
  })
  .get('/:id', requireScope('read'), async (c) => {
    return c.json<Run>(await readRun(c.env.DB, runIdParam(c)));
  })
  .patch(
    '/:id',
    requireScope('publish', 'client'),
    rateLimit(),
    limitRunBody,
    strictJson,
    sValidator('json', UpdateRun, rejectInvalid),
    async (c) => {
      const body = c.req.valid('json');
      const run = await runToWrite(c);
      const versions = body.versions ?? [];
      if (versions.length > 0 && !grants(c.var.caller.scopes, 'publish')) {
        throw new ApiError(403, ErrorCode.FORBIDDEN, 'linking versions needs the publish scope');
      }
      // Ending a run is final; repeating the same end is a harmless retry.
      if (body.status && run.status !== 'running' && run.status !== body.status) {
        throw new ApiError(409, ErrorCode.RUN_FINISHED, `run "${run.id}" is already ${run.status}`);
      }
      const tagCount = Object.keys({ ...run.tags, ...body.tags }).length;
      if (tagCount > MAX_TAGS) throw new ApiError(400, ErrorCode.INVALID_BODY, `a run holds at most ${MAX_TAGS} tags`);
      await requireVersions(c.env.DB, run.model, versions);
      await updateRun(c.env.DB, {
        id: run.id,
        model: run.model,
        status: body.status ?? null,
        tags: body.tags ?? null,
        versions,
        keyId: c.var.caller.keyId,
        now: Date.now(),
      });
      return c.json<Run>(await readRun(c.env.DB, run.id));
    },
  )
  .post(
    '/:id/metrics',
    requireScope('publish', 'client'),
    rateLimit(),
    limitRunBody,
    strictJson,
    sValidator('json', LogMetrics, rejectInvalid),
    async (c) => {
      const { metrics } = c.req.valid('json');
      const run = await runToWrite(c);
      if (run.status !== 'running') throw finished(run);
      // The write re-checks the status, so a run ended since the read above still gets nothing.
      if (!(await appendMetrics(c.env.DB, run.id, metrics, Date.now()))) {
        throw finished((await findRun(c.env.DB, run.id)) ?? run);
      }
      return c.json<LoggedMetrics>({ runId: run.id, written: metrics.length });
    },
  )
  .get('/:id/metrics/:key{.+}', requireScope('read'), async (c) => {
    const id = runIdParam(c);
    const key = c.req.param('key');
    if (!v.is(RunKey, key)) throw new ApiError(400, ErrorCode.BAD_REQUEST, 'key must match ^[\\w.\\-/]{1,250}$');
    if (!(await findRun(c.env.DB, id))) throw runNotFound(id);
    return c.json<MetricSeries>(await metricSeries(c.env.DB, id, key));
  });
