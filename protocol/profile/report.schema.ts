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

/** Rows kept in a window but not judged, and how many contributors sent them. */
const HeldBack = v.object({ rows: v.number(), contributors: v.number() });

/**
 * What the edge judged a report on (absent from reports computed elsewhere). Only rows from
 * established clients are judged: clients registered at least `probationHours` before they sent
 * them. Rows from clients on probation and from callers no client token proves (`unverified`:
 * edge inference without a valid Edgeloop-Client-Token) are kept, counted in `heldBack`, and
 * never judged, so identities minted with the public client key cannot flag a window. A range
 * with fewer than `minRows` judged rows is judged together with the hours just before it
 * (`with-previous`, `span` then starts earlier) or, when even they do not reach `minRows`, not
 * at all (`too-small`: statistics null, nothing flagged). On a fresh deployment every client is
 * on probation, so windows are `too-small` with their rows in `heldBack.probation` until
 * clients registered `probationHours` earlier send profiles.
 */
export const DriftBasis = v.object({
  judged: v.picklist(['alone', 'with-previous', 'too-small']),
  /** The hours whose established rows were judged: the report's window, or earlier hours too. */
  span: v.object({ from: Ms, to: Ms }),
  /** Established rows in the report's window itself. */
  rows: v.number(),
  /** Established rows a range needs to be judged on its own. */
  minRows: v.number(),
  heldBack: v.object({ probation: HeldBack, unverified: HeldBack }),
  probationHours: v.number(),
});
export type DriftBasis = v.InferOutput<typeof DriftBasis>;

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
  basis: v.optional(DriftBasis),
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
