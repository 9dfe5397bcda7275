import * as v from 'valibot';
import { jsonRecord, ModelName, VersionNumber } from './names.ts';

// Limits follow MLflow's where it has one (key pattern and length, param value length).
export const MAX_METRICS_PER_REQUEST = 1000;
export const MAX_PARAMS = 100;
export const MAX_TAGS = 100;
export const MAX_COMPARE_RUNS = 20;

const Finite = v.pipe(v.number(), v.finite());
const Millis = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/** Param, tag and metric keys: MLflow's rule (letters, digits, `_ . - /`, at most 250). */
export const RunKey = v.pipe(v.string(), v.regex(/^[\w.\-/]{1,250}$/, 'key must match ^[\\w.\\-/]{1,250}$'));

/** Run ids as the edge issues them. */
export const RunId = v.pipe(v.string(), v.regex(/^run_[0-9a-f]{32}$/, 'run id must match ^run_[0-9a-f]{32}$'));

export const RunStatus = v.picklist(['running', 'finished', 'failed', 'killed']);
export type RunStatus = v.InferOutput<typeof RunStatus>;

/** The statuses a run may end in; a run never goes back to `running`. */
export const EndStatus = v.picklist(['finished', 'failed', 'killed']);
export type EndStatus = v.InferOutput<typeof EndStatus>;

const ParamValue = v.union([v.pipe(v.string(), v.maxLength(6000)), Finite, v.boolean()]);
export const Params = v.pipe(
  jsonRecord(RunKey, ParamValue),
  v.check((p) => Object.keys(p).length <= MAX_PARAMS, `at most ${MAX_PARAMS} params`),
);
export type Params = v.InferOutput<typeof Params>;

export const Tags = v.pipe(
  jsonRecord(RunKey, v.pipe(v.string(), v.maxLength(5000))),
  v.check((t) => Object.keys(t).length <= MAX_TAGS, `at most ${MAX_TAGS} tags`),
);
export type Tags = v.InferOutput<typeof Tags>;

/** The body of `POST /v1/runs`. Params are set once, here; tags can be added later. */
export const CreateRun = v.strictObject({
  v: v.literal(1),
  model: ModelName,
  name: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(250))),
  params: v.optional(Params),
  tags: v.optional(Tags),
  parentVersion: v.optional(VersionNumber),
});
export type CreateRun = v.InferOutput<typeof CreateRun>;

/** One point of a metric series; `ts` (epoch ms) defaults to when the edge received it. */
export const MetricPoint = v.strictObject({
  key: RunKey,
  value: Finite,
  step: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  ts: v.optional(Millis),
});
export type MetricPoint = v.InferOutput<typeof MetricPoint>;

/**
 * The body of `POST /v1/runs/{id}/metrics`. A run holds one value per (key, step): posting
 * a step again replaces it, so a retried request is harmless; within one request a
 * (key, step) may appear only once.
 */
export const LogMetrics = v.strictObject({
  v: v.literal(1),
  metrics: v.pipe(
    v.array(MetricPoint),
    v.minLength(1),
    v.maxLength(MAX_METRICS_PER_REQUEST),
    v.check(
      (points) => new Set(points.map((p) => `${p.step}:${p.key}`)).size === points.length,
      'metrics must not repeat a (key, step) pair',
    ),
  ),
});
export type LogMetrics = v.InferOutput<typeof LogMetrics>;

export const LoggedMetrics = v.object({ runId: RunId, written: v.number() });
export type LoggedMetrics = v.InferOutput<typeof LoggedMetrics>;

/** The body of `PATCH /v1/runs/{id}`: end the run, add tags, link versions of its model. */
export const UpdateRun = v.pipe(
  v.strictObject({
    v: v.literal(1),
    status: v.optional(EndStatus),
    tags: v.optional(Tags),
    versions: v.optional(v.pipe(v.array(VersionNumber), v.minLength(1), v.maxLength(100))),
  }),
  v.check(
    (u) => u.status !== undefined || u.tags !== undefined || u.versions !== undefined,
    'give at least one of status, tags, versions',
  ),
);
export type UpdateRun = v.InferOutput<typeof UpdateRun>;

export const RunSummary = v.object({
  id: RunId,
  model: ModelName,
  name: v.nullable(v.string()),
  status: RunStatus,
  params: Params,
  tags: v.record(v.string(), v.string()),
  parentVersion: v.nullable(v.number()),
  createdBy: v.string(),
  /** The device whose token created the run (it alone writes to it with a client key); null for runs of publish keys. */
  clientId: v.nullable(v.string()),
  createdAt: v.number(),
  endedAt: v.nullable(v.number()),
});
export type RunSummary = v.InferOutput<typeof RunSummary>;

export const LatestMetric = v.object({ value: v.number(), step: v.number(), ts: v.number() });
export type LatestMetric = v.InferOutput<typeof LatestMetric>;

/** A run with the latest value (highest step) of each metric and the versions it produced. */
export const Run = v.object({
  ...RunSummary.entries,
  metrics: v.record(v.string(), LatestMetric),
  versions: v.array(v.number()),
});
export type Run = v.InferOutput<typeof Run>;

/** `GET /v1/runs`: newest first; pass `nextCursor` back as `cursor` for the next page. */
export const RunList = v.object({ runs: v.array(RunSummary), nextCursor: v.nullable(v.string()) });
export type RunList = v.InferOutput<typeof RunList>;

export const MetricSeries = v.object({
  runId: RunId,
  key: v.string(),
  points: v.array(v.object({ step: v.number(), value: v.number(), ts: v.number() })),
});
export type MetricSeries = v.InferOutput<typeof MetricSeries>;

/** `GET /v1/runs/compare`: runs in the order asked, and the param keys whose values differ. */
export const RunComparison = v.object({
  runs: v.array(
    v.object({
      id: RunId,
      model: ModelName,
      name: v.nullable(v.string()),
      status: RunStatus,
      params: Params,
      metrics: v.record(v.string(), v.number()),
    }),
  ),
  differingParams: v.array(v.string()),
  metricKeys: v.array(v.string()),
});
export type RunComparison = v.InferOutput<typeof RunComparison>;
