import { Hono } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import { MAX_VERSION_BYTES } from '../../../protocol/manifest.ts';
import type { PublishResult } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { modelParam } from '../http/params.ts';
import { mediaType, readBody } from '../http/read-body.ts';
import { trialRun } from '../registry-checks/trial-run.ts';
import { putBlobs } from '../storage/blobs.ts';
import { insertVersion, versionExists } from '../storage/registry.ts';
import { readUpload } from './publish-upload.ts';

/**
 * Largest publish request body: a version's files (MAX_VERSION_BYTES, checked on its own once
 * the form is read) with room for the manifest and the multipart framing of its parts.
 */
export const MAX_PUBLISH_BYTES = MAX_VERSION_BYTES + 1024 * 1024;

async function parseForm(request: Request): Promise<FormData> {
  if (mediaType(request) !== 'multipart/form-data') {
    throw new ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'publish with a multipart/form-data body');
  }
  const body = await readBody(request, MAX_PUBLISH_BYTES);
  try {
    return await new Response(body, {
      headers: { 'content-type': request.headers.get('content-type') ?? '' },
    }).formData();
  } catch {
    throw new ApiError(400, ErrorCode.BAD_REQUEST, 'body is not valid multipart/form-data');
  }
}

/**
 * `POST /v1/models/{model}/versions`: publishes the next immutable version. Everything is
 * validated first (bounds, digests, model files, parent, a trial run of the model); only then do blobs go to R2 by
 * digest and one D1 transaction record the version, so a rejected request writes nothing.
 */
export const publish = new Hono<AppEnv>().post('/:model/versions', requireScope('publish'), async (c) => {
  const model = modelParam(c);
  const upload = await readUpload(model, await parseForm(c.req.raw));
  const parent = upload.manifest.lineage?.parentVersion;
  if (parent !== undefined && !(await versionExists(c.env.DB, model, parent))) {
    throw new ApiError(
      400,
      ErrorCode.INVALID_MANIFEST,
      `manifest.lineage.parentVersion: ${model} has no version ${parent}`,
    );
  }
  // Last of the checks, as the dearest: the model is loaded and run once.
  await trialRun(c.env, upload.manifest, upload.files);
  await putBlobs(c.env.ARTIFACTS, upload.files);
  const version = await insertVersion(c.env.DB, {
    model,
    manifest: upload.manifest,
    files: upload.files,
    keyId: c.var.caller.keyId,
    now: Date.now(),
  });
  const files = upload.files.map(({ path, sha256, size }) => ({ path, sha256, size }));
  return c.json<PublishResult>({ model, version, files }, 201);
});
