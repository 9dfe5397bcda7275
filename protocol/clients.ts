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
