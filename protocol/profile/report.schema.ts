import * as v from 'valibot';
import { DriftMethod } from '../manifest.ts';
import { ModelName } from '../names.ts';

const Ms = v.pipe(v.number(), v.integer(), v.minValue(0));

/** One feature's verdict. `statistic` is null when the current window has no values for it. */
export const FeatureDrift = v.object({
  name: v.string(),
  kind: v.picklist(['numeric', 'categorical']),
  method: DriftMethod,
  statistic: v.nullable(v.number()),
  threshold: v.number(),
  drifted: v.boolean(),
  /** For the tests (ks, chisquare), whose threshold is a p-value. */
  pValue: v.optional(v.number()),
});
export type FeatureDrift = v.InferOutput<typeof FeatureDrift>;

/** Performance from labelled feedback in the window. Ratios are null when undefined (no support). */
export const Performance = v.object({
  count: v.number(),
  accuracy: v.nullable(v.number()),
  /** Expected calibration error over equal-width confidence bins. */
  ece: v.nullable(v.number()),
  classes: v.array(
    v.object({
      label: v.number(),
      support: v.number(),
      precision: v.nullable(v.number()),
      recall: v.nullable(v.number()),
    }),
  ),
});
export type Performance = v.InferOutput<typeof Performance>;

/**
 * `GET /v1/models/{model}/versions/{version}/drift`: the current window's profile against the
 * version's reference. Dataset drift when at least `dataset.threshold` of the features drift.
 */
export const DriftReport = v.object({
  v: v.literal(1),
  model: ModelName,
  version: v.number(),
  window: v.object({ from: Ms, to: Ms }),
  reference: v.object({ count: v.number() }),
  current: v.object({ count: v.number() }),
  features: v.array(FeatureDrift),
  dataset: v.object({ driftedShare: v.number(), drifted: v.boolean(), threshold: v.number() }),
  /** Drift of the model's outputs (class counts or scores), not counted in `dataset`. */
  predictions: v.optional(v.omit(FeatureDrift, ['name', 'kind'])),
  performance: v.optional(Performance),
});
export type DriftReport = v.InferOutput<typeof DriftReport>;

/** The JSON a configured webhook receives, once per model@version and window that drifts. */
export const DriftAlert = v.object({
  v: v.literal(1),
  type: v.literal('drift'),
  model: ModelName,
  version: v.number(),
  window: v.object({ from: Ms, to: Ms }),
  drifted: v.array(v.string()),
  dataset: v.object({ driftedShare: v.number(), drifted: v.boolean(), threshold: v.number() }),
  at: Ms,
});
export type DriftAlert = v.InferOutput<typeof DriftAlert>;
