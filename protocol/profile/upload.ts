import * as v from 'valibot';
import { ClientId, ModelName, VersionNumber } from '../names.ts';

/** Profiles cover one hour each: `window` is the hour's start in ms since the epoch. */
export const WINDOW_MS = 3_600_000;
export const MAX_PROFILES_PER_BATCH = 50;

/**
 * One profile a client sends for (model, version, hour). `id` is unique per client: a client
 * seals its open profile before sending and starts a new one, so a retried id is a duplicate.
 */
export const ProfileEnvelope = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'profile id must match ^[A-Za-z0-9_.:-]{1,128}$')),
  model: ModelName,
  version: VersionNumber,
  window: v.pipe(
    v.number(),
    v.integer(),
    v.minValue(0),
    v.check((w) => w % WINDOW_MS === 0, 'window must be the start of an hour in ms since the epoch'),
  ),
  /** Validated one by one by the edge (`Profile`), so a bad one is rejected by index. */
  profile: v.unknown(),
});
export type ProfileEnvelope = v.InferOutput<typeof ProfileEnvelope>;

/** The body of `POST /v1/profiles`. */
export const ProfileBatch = v.strictObject({
  v: v.literal(1),
  clientId: ClientId,
  profiles: v.pipe(v.array(v.unknown()), v.minLength(1), v.maxLength(MAX_PROFILES_PER_BATCH)),
});
export type ProfileBatch = v.InferOutput<typeof ProfileBatch>;

/**
 * Per profile: merged (`accepted`), already received (`duplicates`), or received but left out
 * of the aggregate because the client's weight in that window reached its cap (`capped`).
 */
export const ProfileBatchResult = v.object({
  accepted: v.number(),
  duplicates: v.number(),
  capped: v.number(),
  rejected: v.array(v.object({ index: v.number(), code: v.string(), message: v.string() })),
});
export type ProfileBatchResult = v.InferOutput<typeof ProfileBatchResult>;
