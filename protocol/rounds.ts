import * as v from 'valibot';
import { AliasName, ClientId, FilePath, ModelName, Sha256Hex, VersionNumber } from './names.ts';

/** How the edge combines the clipped updates of a round (edge/src/rounds/aggregate.ts). */
export const Aggregator = v.picklist(['fedavg', 'trimmed-mean', 'median']);
export type Aggregator = v.InferOutput<typeof Aggregator>;

export const RoundStatus = v.picklist(['open', 'aggregating', 'gating', 'done', 'failed', 'cancelled']);
export type RoundStatus = v.InferOutput<typeof RoundStatus>;

/** Longest a round may stay open: a week. */
export const MAX_ROUND_MS = 7 * 24 * 3600 * 1000;

const Int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const Positive = (max: number) => v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(max));

/**
 * The settings of a round; every field has a default (`ROUND_DEFAULTS`). `deadline` is epoch ms
 * (default: 10 minutes after opening). A device needs `minExamples` labelled examples of the
 * base's lineage to take part; an update counts at most `exampleCap` examples in FedAvg.
 */
export const RoundSettings = v.strictObject({
  minClients: v.optional(Int(1, 10_000)),
  maxClients: v.optional(Int(1, 10_000)),
  deadline: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  localEpochs: v.optional(Int(1, 50)),
  learningRate: v.optional(Positive(1)),
  clipNorm: v.optional(Positive(1e6)),
  noiseMultiplier: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1000))),
  aggregator: v.optional(Aggregator),
  exampleCap: v.optional(Int(1, 100_000)),
  minExamples: v.optional(Int(1, 100_000)),
  /** The δ the round's (ε, δ) is reported at. */
  delta: v.optional(v.pipe(v.number(), v.gtValue(0), v.ltValue(1))),
  /**
   * Seconds the contributors get, once the round is aggregated, to run base and candidate on the
   * labels they held out of their local training and report the counts (the gate's `fleet` set).
   * 0: the gate reads the base's holdout file only.
   */
  evaluationSeconds: v.optional(Int(0, 86_400)),
});
export type RoundSettings = v.InferOutput<typeof RoundSettings>;

/** Settings with every default filled in, as a round stores and reports them. */
export type FullRoundSettings = Required<RoundSettings>;

export const ROUND_DEFAULTS: Omit<FullRoundSettings, 'deadline'> & { durationMs: number } = {
  minClients: 3,
  maxClients: 100,
  durationMs: 10 * 60 * 1000,
  localEpochs: 3,
  learningRate: 0.003,
  clipNorm: 1,
  noiseMultiplier: 0,
  aggregator: 'fedavg',
  exampleCap: 100,
  minExamples: 10,
  delta: 1e-5,
  evaluationSeconds: 0,
};

/** Body of `POST /v1/models/{model}/rounds`. The base defaults to the version `alias` serves. */
export const OpenRound = v.strictObject({
  v: v.literal(1),
  alias: v.optional(AliasName),
  baseVersion: v.optional(VersionNumber),
  settings: v.optional(RoundSettings),
});
export type OpenRound = v.InferOutput<typeof OpenRound>;

/** (ε, δ) of central DP, with the sampling rate and noise it was computed from. */
export const PrivacySpent = v.object({
  /** null: no noise was added, so no finite ε bounds what the release reveals (ε = ∞). */
  epsilon: v.nullable(v.number()),
  delta: v.number(),
  /** Contributors over the eligible fleet (clients that asked for the round). */
  q: v.number(),
  noiseMultiplier: v.number(),
  /** The Rényi order the conversion chose. */
  order: v.number(),
});
export type PrivacySpent = v.InferOutput<typeof PrivacySpent>;

/** A model's privacy spent over every round that released an aggregate, composed by RDP. */
export const CumulativePrivacy = v.object({
  /** null when any release had no noise (ε = ∞). */
  epsilon: v.nullable(v.number()),
  delta: v.number(),
  rounds: v.number(),
});
export type CumulativePrivacy = v.InferOutput<typeof CumulativePrivacy>;

/** Accuracy of one model on one evaluation set. */
export const GateMetric = v.object({
  set: v.string(),
  examples: v.number(),
  baseline: v.nullable(v.number()),
  candidate: v.number(),
});
export type GateMetric = v.InferOutput<typeof GateMetric>;

/** What the gate decided about a candidate, with every reason (each threshold it checked). */
export const GateDecision = v.object({
  blessed: v.boolean(),
  reasons: v.array(v.string()),
  metrics: v.array(GateMetric),
  at: v.number(),
});
export type GateDecision = v.InferOutput<typeof GateDecision>;

export const Round = v.object({
  v: v.literal(1),
  id: v.string(),
  model: ModelName,
  alias: v.string(),
  baseVersion: v.number(),
  status: RoundStatus,
  settings: v.object({
    minClients: v.number(),
    maxClients: v.number(),
    deadline: v.number(),
    localEpochs: v.number(),
    learningRate: v.number(),
    clipNorm: v.number(),
    noiseMultiplier: v.number(),
    aggregator: Aggregator,
    exampleCap: v.number(),
    minExamples: v.number(),
    delta: v.number(),
    evaluationSeconds: v.number(),
  }),
  openedAt: v.number(),
  closedAt: v.nullable(v.number()),
  /** Clients that asked for the round while it was open (the fleet it sampled from). */
  eligible: v.number(),
  contributors: v.number(),
  /** Examples of the contributors, each counted up to the cap. */
  examples: v.number(),
  /** Updates whose norm was above `clipNorm` (scaled down at the edge). */
  clipped: v.number(),
  privacy: v.nullable(PrivacySpent),
  candidateVersion: v.nullable(v.number()),
  gate: v.nullable(GateDecision),
  /** Why the round failed or was cancelled, or what its rollout did. */
  reason: v.nullable(v.string()),
});
export type Round = v.InferOutput<typeof Round>;

export const RoundList = v.object({
  model: ModelName,
  rounds: v.array(Round),
  privacy: CumulativePrivacy,
});
export type RoundList = v.InferOutput<typeof RoundList>;

/**
 * Answer of `GET /v1/models/{model}/rounds/current`: what a device needs to take part, or
 * `round: null` when none is open. `weights` is the base's weights file the update is ordered
 * by (float32 values, `values` of them).
 */
export const CurrentRound = v.object({
  v: v.literal(1),
  round: v.nullable(
    v.object({
      id: v.string(),
      model: ModelName,
      baseVersion: v.number(),
      deadline: v.number(),
      localEpochs: v.number(),
      learningRate: v.number(),
      clipNorm: v.number(),
      minExamples: v.number(),
      weights: v.object({ path: FilePath, sha256: Sha256Hex, values: v.number() }),
    }),
  ),
  /**
   * A round this device contributed to that waits for its held-out evaluation: the candidate's
   * weights (`GET …/rounds/{id}/candidate`, float32 in the base's weights order) to compare with
   * the base on the labels it did not train on. Absent or null when there is none.
   */
  evaluate: v.optional(
    v.nullable(
      v.object({
        id: v.string(),
        baseVersion: v.number(),
        candidate: v.object({ sha256: Sha256Hex, values: v.number() }),
        until: v.number(),
      }),
    ),
  ),
});
export type CurrentRound = v.InferOutput<typeof CurrentRound>;

/** Request header of an update: the examples it was trained on (an integer ≥ 1). */
export const EXAMPLES_HEADER = 'Edgeloop-Examples';

/**
 * Request header of an update: labels the device held out of its fit (an integer ≥ 0, default
 * 0). Only contributors that held some out are asked for a held-out evaluation.
 */
export const HELD_OUT_HEADER = 'Edgeloop-Held-Out';

/** Answer of `POST /v1/models/{model}/rounds/{id}/updates`; `duplicate` when the same bytes came before. */
export const UpdateReceipt = v.object({
  v: v.literal(1),
  roundId: v.string(),
  clientId: ClientId,
  examples: v.number(),
  duplicate: v.boolean(),
});
export type UpdateReceipt = v.InferOutput<typeof UpdateReceipt>;

/**
 * Body of `POST /v1/models/{model}/rounds/{id}/evaluations`: how many of the device's held-out
 * labels (never trained on in the round) the base and the candidate got right.
 */
export const Evaluation = v.pipe(
  v.strictObject({
    v: v.literal(1),
    examples: Int(1, 100_000),
    baseCorrect: Int(0, 100_000),
    candidateCorrect: Int(0, 100_000),
  }),
  v.check(
    (e) => e.baseCorrect <= e.examples && e.candidateCorrect <= e.examples,
    'correct counts cannot exceed examples',
  ),
);
export type Evaluation = v.InferOutput<typeof Evaluation>;

export const EvaluationReceipt = v.object({
  v: v.literal(1),
  roundId: v.string(),
  clientId: ClientId,
  duplicate: v.boolean(),
});
export type EvaluationReceipt = v.InferOutput<typeof EvaluationReceipt>;

/** Fewest examples a gate set needs to be judged, unless the policy says otherwise. */
export const GATE_MIN_EXAMPLES = 30;

/**
 * Continuous training for an alias (`PUT /v1/models/{model}/aliases/{alias}/policy`): when a
 * round opens (`trigger`, any that holds), the round's settings, the gate's thresholds (on
 * held-out accuracy: a value threshold and change thresholds against the served version), the
 * canary share a blessed candidate gets, and the promotion rule (labelled predictions from
 * canary and stable clients, compared by a one-sided two-proportion test at `alpha`).
 */
export const Policy = v.strictObject({
  v: v.literal(1),
  enabled: v.optional(v.boolean(), true),
  trigger: v.optional(
    v.strictObject({
      /** Open a round once this many new labels (feedback events) reached the edge since the last. */
      everyLabels: v.optional(Int(1, 10_000_000)),
      /** Open a round when the served version has an unacknowledged drift alert. */
      onDrift: v.optional(v.boolean()),
      /** Open a round this many hours after the last one opened. */
      everyHours: v.optional(Positive(24 * 365)),
    }),
    {},
  ),
  round: v.optional(v.omit(RoundSettings, ['deadline']), {}),
  /** How long a round the policy opens stays open, in seconds. */
  roundSeconds: v.optional(Int(1, MAX_ROUND_MS / 1000), 600),
  gate: v.optional(
    v.strictObject({
      /** Value threshold: the candidate's held-out accuracy must reach this. */
      minAccuracy: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
      /** Change threshold: at most this far below the baseline's accuracy (0.01 = 1 point). */
      maxDrop: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.01),
      /** Change threshold: at least this far above the baseline's accuracy (unset: not required). */
      minGain: v.optional(v.pipe(v.number(), v.minValue(-1), v.maxValue(1))),
      /**
       * Fewest examples a set needs to be judged (default GATE_MIN_EXAMPLES): on fewer, one label
       * moves accuracy by more than the thresholds (9 labels: 11 points each), so the set is
       * reported, not judged.
       */
      minExamples: v.optional(Int(1, 10_000_000)),
    }),
    {},
  ),
  canary: v.optional(
    v.strictObject({ percent: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(100)), 10) }),
    {},
  ),
  promotion: v.optional(
    v.strictObject({
      /** Labelled predictions needed from canary clients and from stable ones before deciding. */
      minLabelled: v.optional(Int(1, 10_000_000), 50),
      /** Significance of the one-sided test that the canary is worse (rollback) . */
      alpha: v.optional(v.pipe(v.number(), v.gtValue(0), v.ltValue(1)), 0.05),
      /** Most the canary's accuracy may fall below stable's and still be promoted. */
      margin: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.02),
    }),
    {},
  ),
});
export type Policy = v.InferOutput<typeof Policy>;
export type PolicyInput = v.InferInput<typeof Policy>;

/** Answer of `GET/PUT …/aliases/{alias}/policy`: the policy (or null) and what it did last. */
export const PolicyInfo = v.object({
  model: ModelName,
  alias: v.string(),
  policy: v.nullable(Policy),
  /** The candidate in canary the policy is watching, if any. */
  watching: v.nullable(v.object({ version: v.number(), since: v.number(), roundId: v.string() })),
  lastRoundAt: v.nullable(v.number()),
  labelsAtLastRound: v.number(),
});
export type PolicyInfo = v.InferOutput<typeof PolicyInfo>;
