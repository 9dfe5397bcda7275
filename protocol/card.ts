import * as v from 'valibot';
import { DriftMethod, FeatureSource, FileRole, TensorSpec } from './manifest.ts';
import { ModelName } from './names.ts';
import { VersionStatus } from './registry.ts';
import { CumulativePrivacy, Round } from './rounds.ts';
import { LatestMetric, Params, RunStatus } from './runs.ts';

// The model card of one version (`GET /v1/models/{model}/versions/{version}/card`): every
// section is always present; a part the version lacks is null or empty (Markdown says "none").

/** Name, status and what the manifest says the version is. */
export const CardOverview = v.object({
  name: ModelName,
  version: v.number(),
  status: VersionStatus,
  createdAt: v.number(),
  description: v.nullable(v.string()),
  format: v.string(),
});
export type CardOverview = v.InferOutput<typeof CardOverview>;

/** The tensors the model takes and gives, and its class labels by index (empty: none). */
export const CardInterface = v.object({
  inputs: v.array(TensorSpec),
  outputs: v.array(TensorSpec),
  labels: v.array(v.string()),
});
export type CardInterface = v.InferOutput<typeof CardInterface>;

/** A feature drift is measured on; a null method or threshold means the default (Evidently's). */
export const CardFeature = v.object({
  name: v.string(),
  kind: v.picklist(['numeric', 'categorical']),
  source: v.nullable(FeatureSource),
  method: v.nullable(DriftMethod),
  threshold: v.nullable(v.number()),
});
export type CardFeature = v.InferOutput<typeof CardFeature>;

/** The manifest's training block. */
export const CardTraining = v.object({
  dataset: v.string(),
  samples: v.number(),
  split: v.object({ train: v.number(), holdout: v.number() }),
  seed: v.number(),
  epochs: v.nullable(v.number()),
  backend: v.nullable(v.string()),
});
export type CardTraining = v.InferOutput<typeof CardTraining>;

/** Where the version comes from, as its manifest records it (round fields for versions a round made). */
export const CardLineage = v.object({
  parentVersion: v.nullable(v.number()),
  runId: v.nullable(v.string()),
  data: v.nullable(v.string()),
  roundId: v.nullable(v.string()),
  contributors: v.nullable(v.number()),
  examples: v.nullable(v.number()),
  epsilon: v.nullable(v.number()),
  delta: v.nullable(v.number()),
});
export type CardLineage = v.InferOutput<typeof CardLineage>;

/**
 * A training run of the version: `link` when the run linked it (`PATCH /v1/runs/{id}`),
 * `lineage` when the manifest's `lineage.runId` names it.
 */
export const CardRun = v.object({
  id: v.string(),
  name: v.nullable(v.string()),
  status: RunStatus,
  parentVersion: v.nullable(v.number()),
  params: Params,
  metrics: v.record(v.string(), LatestMetric),
  createdAt: v.number(),
  endedAt: v.nullable(v.number()),
  via: v.array(v.picklist(['link', 'lineage'])),
});
export type CardRun = v.InferOutput<typeof CardRun>;

/** The runs of the version, and `lineage.runId` when no run has that id. */
export const CardRuns = v.object({ runs: v.array(CardRun), missingRunId: v.nullable(v.string()) });
export type CardRuns = v.InferOutput<typeof CardRuns>;

/** The federated round that made the version: none, named by the lineage but unknown, or the round itself. */
export const CardRound = v.variant('state', [
  v.object({ state: v.literal('none') }),
  v.object({ state: v.literal('not-found'), id: v.string() }),
  v.object({ state: v.literal('found'), id: v.string(), round: Round }),
]);
export type CardRound = v.InferOutput<typeof CardRound>;

/** An alias whose stable version, canary or shadow is this version; `percent` of clients it serves (null: shadow). */
export const CardAlias = v.object({
  alias: v.string(),
  role: v.picklist(['stable', 'canary', 'shadow']),
  percent: v.nullable(v.number()),
});
export type CardAlias = v.InferOutput<typeof CardAlias>;

/** Drift as D1 holds it: unacknowledged alerts, and the verdicts of the last window judged. */
export const CardDrift = v.object({
  /** The reference profile file drift is measured against; null: drift is not monitored. */
  reference: v.nullable(v.string()),
  openAlerts: v.object({
    windows: v.number(),
    /** Start (ms) of the earliest unacknowledged drifted window. */
    since: v.nullable(v.number()),
    drifted: v.array(v.string()),
  }),
  lastJudged: v.nullable(
    v.object({
      window: v.number(),
      updatedAt: v.number(),
      driftedShare: v.number(),
      drifted: v.boolean(),
      threshold: v.number(),
      features: v.array(
        v.object({
          name: v.string(),
          method: v.string(),
          statistic: v.nullable(v.number()),
          threshold: v.number(),
          drifted: v.boolean(),
        }),
      ),
    }),
  ),
});
export type CardDrift = v.InferOutput<typeof CardDrift>;

export const CardFile = v.object({ path: v.string(), role: FileRole, size: v.number(), sha256: v.string() });
export type CardFile = v.InferOutput<typeof CardFile>;

/** Every section of a card. `privacy` is the model's over all its rounds (ε null: ε = ∞, no noise). */
export const CardBody = v.object({
  overview: CardOverview,
  interface: CardInterface,
  features: v.array(CardFeature),
  training: v.nullable(CardTraining),
  metrics: v.record(v.string(), v.number()),
  lineage: CardLineage,
  runs: CardRuns,
  round: CardRound,
  privacy: CumulativePrivacy,
  aliases: v.array(CardAlias),
  drift: CardDrift,
  files: v.array(CardFile),
});
export type CardBody = v.InferOutput<typeof CardBody>;

/** Answer of `GET /v1/models/{model}/versions/{version}/card`: the card as Markdown and as JSON. */
export const ModelCard = v.object({
  v: v.literal(1),
  model: ModelName,
  version: v.number(),
  markdown: v.string(),
  card: CardBody,
});
export type ModelCard = v.InferOutput<typeof ModelCard>;
