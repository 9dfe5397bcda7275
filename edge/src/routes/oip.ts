import { sValidator } from '@hono/standard-validator';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type Context, Hono } from 'hono';
import { EdgeloopError, ErrorCode } from '../../../protocol/errors.ts';
import {
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
import { disposeTfjs, runTfjs } from '../infer/tfjs.ts';
import { aliasRow } from '../storage/aliases.ts';
import { getVersion } from '../storage/registry.ts';
import { requireModel } from './require-model.ts';

/** The alias a request without a version is served from. */
const DEFAULT_ALIAS = 'production';

/** The version a /v2 request names, or the one the model's production alias points at. */
async function targetVersion(c: Context<AppEnv>, model: string): Promise<number> {
  if (c.req.param('version') !== undefined) return versionParam(c);
  const row = await aliasRow(c.env.DB, model, DEFAULT_ALIAS);
  if (row) return row.version;
  await requireModel(c.env.DB, model);
  throw new ApiError(
    404,
    ErrorCode.ALIAS_NOT_FOUND,
    `model "${model}" has no ${DEFAULT_ALIAS} alias: name a version (/v2/models/${model}/versions/{version})`,
  );
}

/** The version a request targets, checked against the caller's key, with its manifest and files. */
async function targetInfo(c: Context<AppEnv>): Promise<VersionInfo> {
  const model = modelParam(c);
  const version = await targetVersion(c, model);
  await checkVersionAccess(c, model, version);
  const info = await getVersion(c.env.DB, model, version);
  if (info) return info;
  await requireModel(c.env.DB, model);
  throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
}

async function metadata(c: Context<AppEnv>) {
  const info = await targetInfo(c);
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

async function infer(c: Context<AppEnv>, body: OipInferRequest) {
  const info = await targetInfo(c);
  if (info.status === 'archived') {
    throw new ApiError(409, ErrorCode.VERSION_ARCHIVED, `${info.model} v${info.version} is archived`);
  }
  const inputs = readInputs(body, info);
  const label = `${info.model} v${info.version}`;
  const { value: outputs } = await loaded.use(
    `${info.model}@${info.version}`,
    () => loadTfjsVersion(c.env.ARTIFACTS, info),
    (model) => runTfjs(model, inputs, label),
  );
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
