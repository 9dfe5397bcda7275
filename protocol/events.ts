import * as v from 'valibot';
import { ClientId, jsonRecord, ModelName, VersionNumber } from './names.ts';

const Finite = v.pipe(v.number(), v.finite());
const Uuid = v.pipe(v.string(), v.uuid());

/** Features the app supplies per prediction (manifest features without a `source`). */
export const MAX_APP_FEATURES = 256;

/** One app-supplied feature value: a finite number, a category (≤ 256 chars) or null (missing). */
export const FeatureValue = v.nullable(v.union([Finite, v.pipe(v.string(), v.maxLength(256))]));
export type FeatureValue = v.InferOutput<typeof FeatureValue>;

/** Feature name → value, at most MAX_APP_FEATURES entries. */
export const FeatureValues = v.pipe(
  jsonRecord(v.pipe(v.string(), v.minLength(1), v.maxLength(128)), FeatureValue),
  v.check((r) => Object.keys(r).length <= MAX_APP_FEATURES, `at most ${MAX_APP_FEATURES} features`),
);
export type FeatureValues = v.InferOutput<typeof FeatureValues>;

/** The earliest event time the edge takes (2020-01-01T00:00:00Z, epoch ms): no device recorded one before. */
export const MIN_EVENT_TS = Date.UTC(2020, 0, 1);

/** How far ahead of the edge's clock an event's time may be (one day: device clocks drift, not by days). */
export const MAX_EVENT_TS_AHEAD_MS = 24 * 60 * 60 * 1000;

/**
 * Why an event time `ts` is out of the range the edge takes at `now` (both epoch ms), or null.
 * Only the edge applies it, with its own clock: a device records events with whatever its
 * clock says, and a wrong clock costs that device's events, not its predictions.
 *
 * @example
 * eventTsProblem(0, Date.now()) // '0 is before 2020-01-01T00:00:00Z (MIN_EVENT_TS 1577836800000)'
 */
export function eventTsProblem(ts: number, now: number): string | null {
  if (ts < MIN_EVENT_TS) return `${ts} is before 2020-01-01T00:00:00Z (MIN_EVENT_TS ${MIN_EVENT_TS})`;
  if (ts > now + MAX_EVENT_TS_AHEAD_MS) {
    return `${ts} is more than a day (MAX_EVENT_TS_AHEAD_MS) ahead of the edge's clock, ${now}`;
  }
  return null;
}

const EventBase = {
  id: Uuid,
  seq: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** Epoch milliseconds; the edge also bounds it to its clock ({@link eventTsProblem}). */
  ts: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  model: ModelName,
  version: VersionNumber,
  predictionId: Uuid,
};

/** A prediction made on a device; its `predictionId` is its own `id`. */
export const PredictionEvent = v.pipe(
  v.strictObject({
    ...EventBase,
    type: v.literal('prediction'),
    outputs: v.pipe(v.array(Finite), v.maxLength(4096)),
    backend: v.optional(v.picklist(['webgpu', 'wasm', 'cpu'])),
    latencyMs: v.optional(v.pipe(Finite, v.minValue(0))),
    /** The rollout's shadow version run on the same input (its output never shown): its label and whether it agreed. */
    shadow: v.optional(
      v.strictObject({
        version: VersionNumber,
        label: v.pipe(v.number(), v.integer(), v.minValue(0)),
        agree: v.boolean(),
      }),
    ),
    /** The app's features for this prediction; only sent when the app opted in (`shareFeatures`). */
    features: v.optional(FeatureValues),
  }),
  v.check((e) => e.id === e.predictionId, 'a prediction event has predictionId equal to its id'),
);
export type PredictionEvent = v.InferOutput<typeof PredictionEvent>;

/**
 * An explicit label the user gave to a prediction: a class index (`label`, classification) or
 * the true value (`value`, regression), exactly one of them.
 */
export const FeedbackEvent = v.pipe(
  v.strictObject({
    ...EventBase,
    type: v.literal('feedback'),
    label: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    value: v.optional(Finite),
  }),
  v.check(
    (e) => (e.label === undefined) !== (e.value === undefined),
    'a feedback event has a label or a value, not both',
  ),
);
export type FeedbackEvent = v.InferOutput<typeof FeedbackEvent>;

export const Event = v.variant('type', [PredictionEvent, FeedbackEvent]);
export type Event = v.InferOutput<typeof Event>;

export const MAX_EVENTS_PER_BATCH = 500;

/**
 * The body of `POST /v1/events`, sent with the client's token (`Edgeloop-Client-Token`).
 * Events are validated one by one so a bad event is rejected with its index while the rest
 * are applied; every event needs a readable `seq` (a positive integer, unique in the batch),
 * even an invalid one, because the edge applies a client's events strictly in seq order: seqs
 * up to the client's highest applied are duplicates (409 CONFLICT when their content differs),
 * the rest must continue it without a gap (409 SEQ_GAP names the expected seq). An invalid
 * event still consumes its seq.
 */
export const EventBatch = v.strictObject({
  v: v.literal(1),
  clientId: ClientId,
  batchId: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  events: v.pipe(v.array(v.unknown()), v.minLength(1), v.maxLength(MAX_EVENTS_PER_BATCH)),
});
export type EventBatch = v.InferOutput<typeof EventBatch>;

export const EventBatchResult = v.object({
  accepted: v.number(),
  duplicates: v.number(),
  rejected: v.array(v.object({ index: v.number(), code: v.string(), message: v.string() })),
});
export type EventBatchResult = v.InferOutput<typeof EventBatchResult>;

export const ClientInfo = v.object({
  clientId: ClientId,
  maxSeq: v.number(),
  lastSeen: v.number(),
  counts: v.record(v.string(), v.number()),
  /** When the client was revoked (`POST /v1/clients/{clientId}/revoke`); absent while it may write. */
  revokedAt: v.optional(v.number()),
});
export type ClientInfo = v.InferOutput<typeof ClientInfo>;
