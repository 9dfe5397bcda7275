import * as v from 'valibot';
import { ClientId } from './names.ts';

/** The header every write from a registered client carries: the token `POST /v1/clients` issued. */
export const CLIENT_TOKEN_HEADER = 'Edgeloop-Client-Token';

/**
 * The body of `POST /v1/clients` (client key). `nextSeq` is the sequence number of the first
 * outbox item the client will send under the new identity (1 for a new device; an upgraded
 * device with items recorded offline sends its first pending seq), so the edge's gap check
 * starts there.
 */
export const ClientRegistration = v.strictObject({
  v: v.literal(1),
  nextSeq: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)), 1),
});
export type ClientRegistration = v.InferInput<typeof ClientRegistration>;

/** `201` reply to `POST /v1/clients`: the identity the edge issued. Keep the token secret. */
export const ClientIdentity = v.object({
  clientId: ClientId,
  token: v.pipe(v.string(), v.minLength(16), v.maxLength(512)),
});
export type ClientIdentity = v.InferOutput<typeof ClientIdentity>;

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/**
 * The reply to `POST /v1/clients/{id}/erase`: what the edge removed of the client, and when.
 * Erasing again answers the same receipt (the erasure is kept as its own record, holding the
 * client id and these counts only). Drift windows the client contributed to were rebuilt
 * without it (`drift.versions`).
 */
export const EraseReceipt = v.object({
  v: v.literal(1),
  clientId: ClientId,
  requestedAt: v.number(),
  erasedAt: v.number(),
  /** Who asked: the client itself (its token) or an admin key. */
  by: v.picklist(['client', 'admin']),
  removed: v.object({
    /** Applied events (predictions and feedback) and events the edge had refused. */
    events: Count,
    rejectedEvents: Count,
    /** Runs the client created, with their metric points and version links. */
    runs: Count,
    runMetrics: Count,
    /** Drift profiles and the rows in them, from the client's devices and its edge inference. */
    driftProfiles: Count,
    driftRows: Count,
    /** The client's registration (its token no longer writes). */
    registration: v.boolean(),
  }),
  drift: v.object({ versions: v.array(v.object({ model: v.string(), version: v.number() })) }),
});
export type EraseReceipt = v.InferOutput<typeof EraseReceipt>;

/**
 * What `client.erase()` did (worker → page): the edge's receipt (null when this device never
 * registered, so the edge held nothing of it) and the IndexedDB database deleted on the device.
 */
export const EraseResult = v.object({
  v: v.literal(1),
  edge: v.nullable(EraseReceipt),
  device: v.object({ database: v.string(), deleted: v.boolean() }),
});
export type EraseResult = v.InferOutput<typeof EraseResult>;
