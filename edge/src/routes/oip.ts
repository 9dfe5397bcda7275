import { type Context, Hono } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import {
  type OipLive,
  type OipModelMetadata,
  type OipReady,
  type OipServerMetadata,
  oipMetadata,
} from '../../../protocol/oip.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { checkVersionAccess } from '../auth/version-access.ts';
import { ApiError } from '../http/api-error.ts';
import { modelParam, versionParam } from '../http/params.ts';
import { rateLimit } from '../http/rate-limit.ts';
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

async function metadata(c: Context<AppEnv>) {
  const model = modelParam(c);
  const version = await targetVersion(c, model);
  await checkVersionAccess(c, model, version);
  const info = await getVersion(c.env.DB, model, version);
  if (!info) {
    await requireModel(c.env.DB, model);
    throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
  }
  return c.json<OipModelMetadata>(oipMetadata(info.manifest, version));
}

const access = requireScope('read', 'client');

/**
 * Open Inference Protocol v2 (REST): server health and metadata, and model metadata from the
 * registry. Errors are the protocol's `{"error": "…"}`, with Edgeloop's stable code in the
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
  .get('/v2/models/:model/versions/:version', access, rateLimit(), metadata);
