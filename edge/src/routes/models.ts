import { Hono } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { ModelList, VersionInfo, VersionList } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { checkVersionAccess } from '../auth/version-access.ts';
import { ApiError } from '../http/api-error.ts';
import { modelParam, versionParam } from '../http/params.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { getVersion, listModels, listVersions } from '../storage/registry.ts';
import { requireModel } from './require-model.ts';
import { serveFile } from './serve-file.ts';

/** Read keys see every version; client keys only versions an alias points at. */
const versionAccess = requireScope('read', 'client');

/** Registry reads under `/v1/models`. */
export const models = new Hono<AppEnv>()
  .get('/', requireScope('read'), async (c) => c.json<ModelList>(await listModels(c.env.DB)))
  .get('/:model/versions', requireScope('read'), async (c) => {
    const model = modelParam(c);
    await requireModel(c.env.DB, model);
    return c.json<VersionList>({ model, versions: await listVersions(c.env.DB, model) });
  })
  .get('/:model/versions/:version', versionAccess, rateLimit(), async (c) => {
    const model = modelParam(c);
    const version = versionParam(c);
    await checkVersionAccess(c, model, version);
    const info = await getVersion(c.env.DB, model, version);
    if (!info) {
      await requireModel(c.env.DB, model);
      throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
    }
    return c.json<VersionInfo>(info);
  })
  .get('/:model/versions/:version/files/:path{.+}', versionAccess, rateLimit(), async (c) => {
    const model = modelParam(c);
    const version = versionParam(c);
    await checkVersionAccess(c, model, version);
    return serveFile(c, model, version, c.req.param('path'));
  });
