import * as v from 'valibot';

/** Federated participation as it crosses the page ↔ worker boundary (worker/federated). */

/** `participate`'s options: none yet beyond the protocol version. */
export const ParticipateOptions = v.strictObject({ v: v.literal(1) });
export type ParticipateOptions = v.InferInput<typeof ParticipateOptions>;

/** A stored update: waiting to be sent (retried by syncs), acknowledged, or refused for good. */
export const UpdateState = v.picklist(['pending', 'sent', 'rejected']);
export type UpdateState = v.InferOutput<typeof UpdateState>;

const Refusal = v.object({ code: v.string(), message: v.string() });

/**
 * `participate`'s answer. `no-round`: none is open for the loaded model. `already`: this device
 * took part in the open round (its update's `state`); nothing is sent twice. `not-enough-examples`:
 * fewer labelled predictions of the base's lineage (`examples`) than the round needs (`needed`).
 * `mismatch`: the base's weights are not what the round describes (`reason`). Otherwise the
 * update was trained and stored: `sent` (the edge took it; `duplicate` when it had the same bytes
 * already), `pending` (the send failed with `error` and a later sync retries it) or `rejected`
 * (refused for good with `rejection`). `norm` is the delta's L2 norm before clipping to
 * `clipNorm`; `bytes` the body's size before gzip; `examples` the labels it trained on (a fifth
 * of them, from 10 labels on, is held out of the fit). `evaluated`: a round this device
 * contributed to asked for its held-out evaluation, which came first (the next call trains for
 * an open round): of `examples` held-out labels the base got `baseCorrect` right and the
 * round's candidate `candidateCorrect`; the counts' `state` as for an update.
 */
export const ParticipateResult = v.variant('status', [
  v.object({ v: v.literal(1), status: v.literal('no-round'), model: v.string() }),
  v.object({
    v: v.literal(1),
    status: v.literal('evaluated'),
    model: v.string(),
    roundId: v.string(),
    examples: v.number(),
    baseCorrect: v.number(),
    candidateCorrect: v.number(),
    state: UpdateState,
    duplicate: v.optional(v.boolean()),
    error: v.optional(Refusal),
    rejection: v.optional(Refusal),
  }),
  v.object({
    v: v.literal(1),
    status: v.literal('already'),
    model: v.string(),
    roundId: v.string(),
    state: UpdateState,
  }),
  v.object({
    v: v.literal(1),
    status: v.literal('not-enough-examples'),
    model: v.string(),
    roundId: v.string(),
    examples: v.number(),
    needed: v.number(),
  }),
  v.object({
    v: v.literal(1),
    status: v.literal('mismatch'),
    model: v.string(),
    roundId: v.string(),
    reason: v.string(),
  }),
  v.object({
    v: v.literal(1),
    status: v.picklist(['sent', 'pending', 'rejected']),
    model: v.string(),
    roundId: v.string(),
    baseVersion: v.number(),
    examples: v.number(),
    norm: v.number(),
    clipNorm: v.number(),
    clipped: v.boolean(),
    bytes: v.number(),
    durationMs: v.number(),
    duplicate: v.optional(v.boolean()),
    error: v.optional(Refusal),
    rejection: v.optional(Refusal),
  }),
]);
export type ParticipateResult = v.InferOutput<typeof ParticipateResult>;

/**
 * Federated participation as `status()` reports it: whether the worker takes part on its own
 * (init `federated`) and the last round it trained an update for, from IndexedDB.
 */
export const FederatedStatus = v.object({
  enabled: v.boolean(),
  lastRound: v.nullable(
    v.object({
      id: v.string(),
      model: v.string(),
      state: UpdateState,
      examples: v.number(),
      /** L2 norm of the delta before clipping; `clipped` when it was above the round's clipNorm. */
      norm: v.number(),
      clipped: v.boolean(),
      at: v.number(),
      rejection: v.optional(Refusal),
      /** Labels held out of the fit (absent: none, below 10 labels). */
      heldOut: v.optional(v.number()),
      /** The round's candidate judged on them, once the edge asked: the counts and what became of them. */
      evaluation: v.optional(
        v.object({
          state: UpdateState,
          examples: v.number(),
          baseCorrect: v.number(),
          candidateCorrect: v.number(),
          rejection: v.optional(Refusal),
        }),
      ),
    }),
  ),
});
export type FederatedStatus = v.InferOutput<typeof FederatedStatus>;
