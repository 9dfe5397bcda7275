import { sValidator } from '@hono/standard-validator';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type Context, Hono } from 'hono';
import { EdgeloopError, ErrorCode } from '../../../protocol/errors.ts';
import {
  CLIENT_ID_HEADER,
  OipInferRequest,
  type OipInferResponse,
  type OipLive,
  type OipModelMetadata,
  type OipReady,
  type OipServerMetadata,
  oipMetadata,
} from '../../../protocol/oip.ts';
import { readInput, type Tensor } from '../../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { checkVersionAccess } from '../auth/version-access.ts';
import { ApiError } from '../http/api-error.ts';
import { limitBody } from '../http/body-limit.ts';
import { modelParam, versionParam } from '../http/params.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { rejectInvalid, strictJson } from '../http/validate.ts';
import { loadTfjsVersion } from '../infer/load.ts';
import { ModelCache } from '../infer/model-cache.ts';
import { compareOutputs } from '../infer/shadow.ts';
import { disposeTfjs, runTfjs } from '../infer/tfjs.ts';
import { getVersion } from '../storage/registry.ts';
import { resolveAlias } from '../storage/resolve.ts';
import { recordShadow } from '../storage/shadow.ts';
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
/** Models loaded in this isolate, by the size of their files (an isolate has 128 MB). */
const loaded = new ModelCache<LayersModel>(64 * 1024 * 1024, disposeTfjs);

const badInput = (message: string) => new ApiError(400, ErrorCode.INVALID_INPUT, message);

/** The request's inputs in the model's order, each checked against the model's metadata. */
function readInputs(body: OipInferRequest, info: VersionInfo): Tensor[] {
  const metadata = oipMetadata(info.manifest, info.version);
  const given = new Map<string, OipInferRequest['inputs'][number]>();
  for (const input of body.inputs) {
    if (given.has(input.name)) throw badInput(`input "${input.name}" is given twice`);
    if (!metadata.inputs.some((spec) => spec.name === input.name)) {
      throw badInput(`the model has no input "${input.name}"; it takes ${metadata.inputs.map((i) => `"${i.name}"`)}`);
    }
    given.set(input.name, input);
  }
  const tensors = metadata.inputs.map((spec) => {
    const input = given.get(spec.name);
    if (!input) throw badInput(`input "${spec.name}" is missing`);
    try {
      return readInput(input, spec);
    } catch (error) {
      throw error instanceof EdgeloopError ? badInput(error.message.replace(/^\[[A-Z_]+\] /, '')) : error;
    }
  });
  if (new Set(tensors.map((t) => t.shape[0])).size > 1) throw badInput('the inputs have different batch sizes');
  for (const output of body.outputs ?? []) {
    if (!metadata.outputs.some((spec) => spec.name === output.name)) {
      throw badInput(`the model has no output "${output.name}"`);
    }
  }
  return tensors;
}

/** Runs a version on checked inputs, through this isolate's model cache. */
async function run(bucket: R2Bucket, info: VersionInfo, inputs: Tensor[]): Promise<Tensor[]> {
  const label = `${info.model} v${info.version}`;
  const { value } = await loaded.use(
    `${info.model}@${info.version}`,
    () => loadTfjsVersion(bucket, info),
    (model) => runTfjs(model, inputs, label),
  );
  return value;
}

/**
 * Runs the rollout's shadow on the inputs the served version answered, after the answer, and
 * records how their first outputs compared. A shadow that is gone, archived or takes other
 * inputs is skipped; its failures are logged, never shown to the caller.
 */
async function shadowRun(
  env: Env,
  served: VersionInfo,
  alias: string,
  shadow: number,
  inputs: Tensor[],
  outputs: Tensor[],
) {
  const info = await getVersion(env.DB, served.model, shadow);
  if (!info || info.status === 'archived') return;
  const same = (a: VersionInfo, b: VersionInfo) =>
    JSON.stringify(oipMetadata(a.manifest, 0).inputs) === JSON.stringify(oipMetadata(b.manifest, 0).inputs);
  if (!same(info, served)) return;
  const [first] = await run(env.ARTIFACTS, info, inputs);
  const [servedFirst] = outputs;
  if (!first || !servedFirst) return;
  const comparison = compareOutputs(servedFirst, first);
  await recordShadow(env.DB, {
    model: served.model,
    alias,
    version: served.version,
    shadowVersion: shadow,
    at: Date.now(),
    ...comparison,
  });
}

async function infer(c: Context<AppEnv>, body: OipInferRequest) {
  const { info, target: chosen } = await targetInfo(c);
  if (info.status === 'archived') {
    throw new ApiError(409, ErrorCode.VERSION_ARCHIVED, `${info.model} v${info.version} is archived`);
  }
  const inputs = readInputs(body, info);
  const outputs = await run(c.env.ARTIFACTS, info, inputs);
  if (chosen.alias && chosen.shadow !== undefined && chosen.shadow !== info.version) {
    const { alias, shadow } = chosen;
    c.executionCtx.waitUntil(
      shadowRun(c.env, info, alias, shadow, inputs, outputs).catch((error: unknown) =>
        console.error('shadow evaluation failed', info.model, shadow, error),
      ),
    );
  }
  const wanted = new Set((body.outputs ?? []).map((o) => o.name));
  const metadata = oipMetadata(info.manifest, info.version);
  return c.json<OipInferResponse>({
    model_name: info.model,
    model_version: String(info.version),
    ...(body.id === undefined ? {} : { id: body.id }),
    outputs: metadata.outputs.flatMap((spec, i) => {
      const out = outputs[i];
      if (!out || (wanted.size > 0 && !wanted.has(spec.name))) return [];
      return [{ name: spec.name, datatype: spec.datatype, shape: out.shape, data: Array.from(out.data) }];
    }),
  });
}

const inferBody = [
  limitBody(MAX_INFER_BODY_BYTES),
  strictJson,
  sValidator('json', OipInferRequest, rejectInvalid),
] as const;

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
  .post('/v2/models/:model/infer', access, rateLimit(), ...inferBody, (c) => infer(c, c.req.valid('json')))
  .post('/v2/models/:model/versions/:version/infer', access, rateLimit(), ...inferBody, (c) =>
    infer(c, c.req.valid('json')),
  );
