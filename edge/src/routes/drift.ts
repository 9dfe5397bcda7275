import { Hono } from 'hono';
import type { DriftAck, DriftWindows } from '../../../protocol/drift.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { Manifest } from '../../../protocol/manifest.ts';
import {
  buildProfile,
  type DriftBasis,
  type DriftReport,
  driftReport,
  type Profile,
  WINDOW_MS,
} from '../../../protocol/profile/index.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { driftStub } from '../drift/stub.ts';
import { ApiError } from '../http/api-error.ts';
import { modelParam, versionParam } from '../http/params.ts';
import { hourRange } from '../http/time-range.ts';
import { acknowledgeDrift } from '../storage/drift.ts';
import { type DriftContext, loadDriftContext } from '../storage/reference.ts';
import { versionExists } from '../storage/registry.ts';
import { requireModel } from './require-model.ts';

async function notFound(db: D1Database, model: string, version: number): Promise<never> {
  await requireModel(db, model);
  throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
}

/** The version's manifest and reference: 404 when it does not exist, 409 NO_REFERENCE without one. */
async function referenced(env: Env, model: string, version: number): Promise<DriftContext & { reference: Profile }> {
  const context = await loadDriftContext(env, model, version);
  if (!context) return notFound(env.DB, model, version);
  const { manifest, reference } = context;
  if (!reference) {
    throw new ApiError(
      409,
      ErrorCode.NO_REFERENCE,
      `${model} v${version} has no reference profile; publish a version with \`--reference\` to monitor drift`,
    );
  }
  return { manifest, reference };
}

/**
 * The report of what a range is judged on (`basis`): nothing to judge (no data, too few rows or
 * only held-back ones) is judged as an empty profile, so statistics are null and nothing drifts.
 */
function report(
  reference: Profile,
  manifest: Manifest,
  judged: Profile | null,
  at: { model: string; version: number; window: { from: number; to: number }; basis: DriftBasis },
): DriftReport {
  const { model, version, window, basis } = at;
  const current = judged ?? buildProfile([], manifest.features);
  const features = manifest.features.features;
  return { ...driftReport(reference, current, { model, version, window, features }), basis };
}

/** Drift reads and acknowledgement under `/v1/models/{model}/versions/{version}`. */
export const drift = new Hono<AppEnv>()
  .get('/:model/versions/:version/drift', requireScope('read'), async (c) => {
    const model = modelParam(c);
    const version = versionParam(c);
    const window = hourRange(c, Date.now());
    const { manifest, reference } = await referenced(c.env, model, version);
    const { profile, basis } = await driftStub(c.env, model, version).judge(window.from, window.to);
    return c.json<DriftReport>(report(reference, manifest, profile, { model, version, window, basis }));
  })
  .get('/:model/versions/:version/drift/windows', requireScope('read'), async (c) => {
    const model = modelParam(c);
    const version = versionParam(c);
    const range = hourRange(c, Date.now());
    const { manifest, reference } = await referenced(c.env, model, version);
    const rows = await driftStub(c.env, model, version).windows(range.from, range.to);
    const windows = rows.map(({ window, profile, basis }) => {
      const span = { from: window, to: window + WINDOW_MS };
      return { ...span, report: report(reference, manifest, profile, { model, version, window: span, basis }) };
    });
    return c.json<DriftWindows>({ model, version, windows });
  })
  .post('/:model/versions/:version/drift/ack', requireScope('publish'), async (c) => {
    const model = modelParam(c);
    const version = versionParam(c);
    if (!(await versionExists(c.env.DB, model, version))) return notFound(c.env.DB, model, version);
    return c.json<DriftAck>({ acknowledged: await acknowledgeDrift(c.env.DB, model, version, Date.now()) });
  });
