import { type Context, Hono } from 'hono';
import * as v from 'valibot';
import { requestWork } from '../../../models/explain/cost.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import {
  CLIENT_ID_HEADER,
  type EdgeloopInferParameters,
  OipInferRequest,
  type OipInferResponse,
  type OipLive,
  type OipModelMetadata,
  type OipModelReady,
  type OipReady,
  type OipServerMetadata,
  oipMetadata,
} from '../../../protocol/oip.ts';
import { jsonData, type Tensor } from '../../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';
import { tokenClient } from '../auth/client-token.ts';
import { requireScope } from '../auth/require-scope.ts';
import { checkVersionAccess } from '../auth/version-access.ts';
import { ApiError } from '../http/api-error.ts';
import { describeIssues } from '../http/issues.ts';
import { modelParam, versionParam } from '../http/params.ts';
import { chargeWork, rateLimit, workCeiling, workGate, workOwner } from '../http/rate-limit.ts';
import { readJson } from '../http/read-body.ts';
import { chunkRows } from '../infer/chunks.ts';
import { checkBudget, workPerRequest } from '../infer/cost.ts';
import { edgeContributor, feedDrift } from '../infer/drift-feed.ts';
import { explainByOcclusion, explainedInput, explainTfjs, explainWork, explanationOutputs } from '../infer/explain.ts';
import { readInputs, readParameters } from '../infer/inputs.ts';
import { type InferenceNote, measureInference } from '../infer/measure.ts';
import { modelWork, runOnnxVersion, runTfjsVersion, runtimeOf } from '../infer/serve.ts';
import { shadowRun } from '../infer/shadow-run.ts';
import { getVersion } from '../storage/registry.ts';
import { resolveAlias } from '../storage/resolve.ts';
import { requireModel } from './require-model.ts';

/** The alias a request without a version is served from. */
const DEFAULT_ALIAS = 'production';

/** What a request is served from: a named version, or the production alias as its client gets it. */
interface Target {
  version: number;
  /** Set when served through the alias: its name and the rollout's shadow version, if any. */
  alias?: string;
  shadow?: number;
}

/**
 * The version a /v2 request names, or the one the model's production alias serves the client
 * of `Edgeloop-Client-Id` (the canary for clients in its share, as `/v1/.../resolve` answers).
 */
async function target(c: Context<AppEnv>, model: string): Promise<Target> {
  if (c.req.param('version') !== undefined) return { version: versionParam(c) };
  const answer = await resolveAlias(c.env.DB, model, DEFAULT_ALIAS, c.req.header(CLIENT_ID_HEADER));
  if (answer)
    return { version: answer.version, alias: DEFAULT_ALIAS, ...(answer.shadow ? { shadow: answer.shadow } : {}) };
  await requireModel(c.env.DB, model);
  throw new ApiError(
    404,
    ErrorCode.ALIAS_NOT_FOUND,
    `model "${model}" has no ${DEFAULT_ALIAS} alias: name a version (/v2/models/${model}/versions/{version})`,
  );
}

/** The version a request targets, checked against the caller's key, with its manifest and files. */
async function targetInfo(c: Context<AppEnv>): Promise<{ info: VersionInfo; target: Target }> {
  const model = modelParam(c);
  const chosen = await target(c, model);
  await checkVersionAccess(c, model, chosen.version);
  const info = await getVersion(c.env.DB, model, chosen.version);
  if (info) return { info, target: chosen };
  await requireModel(c.env.DB, model);
  throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${chosen.version}`);
}

async function metadata(c: Context<AppEnv>) {
  const { info } = await targetInfo(c);
  return c.json<OipModelMetadata>(oipMetadata(info.manifest, info.version));
}

/** Infer request bodies: a batch of 64 digits as JSON text is ~3 MB. */
const MAX_INFER_BODY_BYTES = 8 * 1024 * 1024;

/** Work after the answer; its failures are logged, never shown to the caller. */
function after(c: Context<AppEnv>, what: string, work: Promise<void>) {
  c.executionCtx.waitUntil(work.catch((error: unknown) => console.error(what, 'failed', error)));
}

/**
 * Runs the request on the runtime it asks for and, when `explained` is given (the input checked
 * by explainedInput before anything runs), explains it; tells the metrics through `note`.
 * First its work (infer/cost.ts) is checked against the budget of one request and charged to
 * the caller's work buckets: a request refused for its cost runs nothing.
 */
async function serve(
  c: Context<AppEnv>,
  info: VersionInfo,
  inputs: Tensor[],
  asked: EdgeloopInferParameters,
  explained: Tensor | null,
  note: InferenceNote,
) {
  const env = c.env;
  const runtime = runtimeOf(info, asked);
  const model = await modelWork(env.ARTIFACTS, info, inputs);
  const explain = explained ? explainWork(info, runtime, asked, explained) : null;
  const work = requestWork(model.perExample, inputs[0]?.shape[0] ?? 0, explain);
  checkBudget(info, work, Math.min(workPerRequest(env), await workCeiling(c)), explain);
  await chargeWork(c, work.total);
  const rows = chunkRows(model.perExample);
  const owner = await workOwner(c);
  const served =
    runtime === 'onnx'
      ? await runOnnxVersion(env, info, inputs, rows)
      : await runTfjsVersion(env.ARTIFACTS, info, inputs, owner);
  // tfjs: the model was looked up (and loaded on a miss) for its work, before it ran.
  const cache = runtime === 'onnx' ? served.cache : (model.cache ?? served.cache);
  Object.assign(note, { cache, computeMs: served.computeMs, ranAt: performance.now() });
  if (!explained) return { outputs: served.value, explanation: null };
  const explanation =
    explain?.method === 'integrated-gradients'
      ? (await explainTfjs(env.ARTIFACTS, info, explained, asked.explain_steps, owner)).value
      : await explainByOcclusion(env, info, runtime, explained, rows, owner);
  return { outputs: served.value, explanation: explanationOutputs(explanation) };
}

async function infer(c: Context<AppEnv>, body: OipInferRequest) {
  const { info, target: chosen } = await targetInfo(c);
  const note: InferenceNote = {
    model: info.model,
    version: info.version,
    runtime: 'tfjs',
    cache: null,
    computeMs: 0,
    ranAt: null,
  };
  c.set('inference', note);
  if (info.status === 'archived') {
    throw new ApiError(409, ErrorCode.VERSION_ARCHIVED, `${info.model} v${info.version} is archived`);
  }
  const asked = readParameters(body);
  note.runtime = asked.runtime ?? (info.manifest.format === 'onnx' ? 'onnx' : 'tfjs');
  const inputs = readInputs(body, info);
  const explained = asked.explain ? explainedInput(info, inputs) : null;
  const { outputs, explanation } = await serve(c, info, inputs, asked, explained, note);
  after(c, 'drift profile', feedDrift(c.env, info, inputs, outputs, edgeContributor(await tokenClient(c))));
  if (chosen.alias && chosen.shadow !== undefined && chosen.shadow !== info.version) {
    after(c, 'shadow evaluation', shadowRun(c.env, info, chosen.alias, chosen.shadow, inputs, outputs));
  }
  const wanted = new Set((body.outputs ?? []).map((o) => o.name));
  const metadata = oipMetadata(info.manifest, info.version);
  const answered = metadata.outputs.flatMap((spec, i) => {
    const out = outputs[i];
    if (!out || (wanted.size > 0 && !wanted.has(spec.name))) return [];
    return [{ name: spec.name, datatype: spec.datatype, shape: out.shape, data: jsonData(out.data, spec.datatype) }];
  });
  return c.json<OipInferResponse>({
    model_name: info.model,
    model_version: String(info.version),
    ...(body.id === undefined ? {} : { id: body.id }),
    ...(explanation ? { parameters: explanation.parameters } : {}),
    outputs: [...answered, ...(explanation?.outputs ?? [])],
  });
}

/** Ready when the version can be served: it exists, is not archived, and the caller may use it. */
async function modelReady(c: Context<AppEnv>) {
  const { info } = await targetInfo(c);
  return c.json<OipModelReady>({ name: info.model, ready: info.status !== 'archived' });
}

/**
 * The infer request: JSON, optionally gzip-encoded (a batch of digits shrinks ~5×), at most
 * MAX_INFER_BODY_BYTES on the wire and decoded, UTF-8, a JSON object of the protocol's shape.
 */
async function inferRequest(c: Context<AppEnv>): Promise<OipInferRequest> {
  const json = await readJson(c.req.raw, MAX_INFER_BODY_BYTES, 'the infer request');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ApiError(400, ErrorCode.INVALID_BODY, 'body must be a JSON object');
  }
  const parsed = v.safeParse(OipInferRequest, json);
  if (!parsed.success) throw new ApiError(400, ErrorCode.INVALID_BODY, describeIssues(parsed.issues));
  return parsed.output;
}

const access = requireScope('read', 'client');

/**
 * Open Inference Protocol v2 (REST): server health and metadata, model metadata from the
 * registry, and inference with tfjs-layers models on tfjs's cpu backend, loaded per isolate. Errors are the protocol's `{"error": "…"}`, with Edgeloop's stable code in the
 * `Edgeloop-Error-Code` header (see http/on-error.ts).
 */
export const oip = new Hono<AppEnv>()
  .get('/v2/health/live', (c) => c.json<OipLive>({ live: true }))
  .get('/v2/health/ready', async (c) => {
    // Ready when the registry answers: every model is loaded from it on demand.
    await c.env.DB.prepare('SELECT 1').first();
    return c.json<OipReady>({ ready: true });
  })
  .get('/v2', (c) => c.json<OipServerMetadata>({ name: 'edgeloop', version: c.env.EDGELOOP_VERSION, extensions: [] }))
  .get('/v2/models/:model', access, rateLimit(), metadata)
  .get('/v2/models/:model/versions/:version', access, rateLimit(), metadata)
  .get('/v2/models/:model/ready', access, rateLimit(), modelReady)
  .get('/v2/models/:model/versions/:version/ready', access, rateLimit(), modelReady)
  .post('/v2/models/:model/infer', measureInference, access, workGate(), rateLimit(), async (c) =>
    infer(c, await inferRequest(c)),
  )
  .post('/v2/models/:model/versions/:version/infer', measureInference, access, workGate(), rateLimit(), async (c) =>
    infer(c, await inferRequest(c)),
  );
