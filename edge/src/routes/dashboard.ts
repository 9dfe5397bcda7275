import { Hono } from 'hono';
import {
  type AlertList,
  compareDistributions,
  type DistributionComparison,
  type VersionAlert,
  type WhoAmI,
} from '../../../protocol/dashboard.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import { WINDOW_MS } from '../../../protocol/profile/index.ts';
import type { AppEnv } from '../app-env.ts';
import { authenticate } from '../auth/authenticate.ts';
import { requireScope } from '../auth/require-scope.ts';
import { driftStub } from '../drift/stub.ts';
import { ApiError } from '../http/api-error.ts';
import { modelParam, versionParam } from '../http/params.ts';
import { hourRange } from '../http/time-range.ts';
import { loadDriftContext } from '../storage/reference.ts';
import { versionExists } from '../storage/registry.ts';
import { requireModel } from './require-model.ts';

/** 404 MODEL_NOT_FOUND or VERSION_NOT_FOUND, whichever is missing. */
async function missingVersion(db: D1Database, model: string, version: number): Promise<never> {
  await requireModel(db, model);
  throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
}

/**
 * `GET /v1/keys/me`: any valid key may learn its own scopes, so the dashboard shows only the
 * controls the key can use. Mounted before `/v1/keys`, whose routes are admin only.
 */
export const whoami = new Hono<AppEnv>().get('/', async (c) => {
  const caller = await authenticate(c.env, c.req.header('authorization'));
  return c.json<WhoAmI>({ v: 1, keyId: caller.keyId, scopes: [...caller.scopes] });
});

interface AlertRow {
  window: number;
  drifted: string;
  drifted_share: number;
  dataset_drifted: number;
  created_at: number;
  acknowledged_at: number | null;
}

/** The dashboard's reads under `/v1/models/{model}/versions/{version}`: alerts and distributions. */
export const dashboard = new Hono<AppEnv>()
  .get('/:model/versions/:version/alerts', requireScope('read'), async (c) => {
    const model = modelParam(c);
    const version = versionParam(c);
    if (!(await versionExists(c.env.DB, model, version))) await missingVersion(c.env.DB, model, version);
    const { results } = await c.env.DB.prepare(
      `SELECT window, drifted, drifted_share, dataset_drifted, created_at, acknowledged_at
         FROM drift_alerts WHERE model = ? AND version = ? ORDER BY window DESC`,
    )
      .bind(model, version)
      .all<AlertRow>();
    const alerts = results.map(
      (row): VersionAlert => ({
        window: { from: row.window, to: row.window + WINDOW_MS },
        drifted: JSON.parse(row.drifted) as string[],
        driftedShare: row.drifted_share,
        datasetDrifted: row.dataset_drifted === 1,
        createdAt: row.created_at,
        acknowledgedAt: row.acknowledged_at,
      }),
    );
    return c.json<AlertList>({ v: 1, model, version, alerts });
  })
  .get('/:model/versions/:version/drift/distributions', requireScope('read'), async (c) => {
    const model = modelParam(c);
    const version = versionParam(c);
    const window = hourRange(c, Date.now());
    const context = await loadDriftContext(c.env, model, version);
    if (!context) return missingVersion(c.env.DB, model, version);
    if (!context.reference) {
      throw new ApiError(409, ErrorCode.NO_REFERENCE, `${model} v${version} has no reference profile`);
    }
    const merged = await driftStub(c.env, model, version).merged(window.from, window.to);
    return c.json<DistributionComparison>({
      v: 1,
      model,
      version,
      window,
      reference: { count: context.reference.count },
      current: { count: merged.profile?.count ?? 0 },
      features: compareDistributions(context.reference, merged.profile),
    });
  });
