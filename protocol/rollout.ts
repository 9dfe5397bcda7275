import * as v from 'valibot';
import { sha256Hex } from './hash.ts';
import { ModelName, VersionNumber } from './names.ts';

/** A share of clients, in percent; fractions allowed (0.5 = one client in 200). */
export const Percent = v.pipe(v.number(), v.minValue(0), v.maxValue(100));

export const Canary = v.strictObject({ version: VersionNumber, percent: Percent });
export const Shadow = v.strictObject({ version: VersionNumber });

/** The rollout of an alias: an optional canary share and an optional shadow version. */
export const Rollout = v.object({ canary: v.optional(Canary), shadow: v.optional(Shadow) });
export type Rollout = v.InferOutput<typeof Rollout>;

/** Body of `PUT /v1/models/{model}/aliases/{alias}/rollout`; `{}` clears the rollout. */
export const SetRollout = v.strictObject({
  canary: v.optional(Canary),
  shadow: v.optional(Shadow),
  reason: v.optional(v.pipe(v.string(), v.maxLength(1000))),
});
export type SetRollout = v.InferOutput<typeof SetRollout>;

/** Answer of `POST /v1/models/{model}/versions/{version}/archive`. */
export const ArchiveResult = v.object({ model: ModelName, version: v.number(), status: v.literal('archived') });
export type ArchiveResult = v.InferOutput<typeof ArchiveResult>;

/**
 * Where a client falls in an alias's rollout: a number in [0, 100), stable for the same
 * (model, alias, clientId). A client is in the canary when `bucket < percent`, so raising
 * the percent only ever adds clients. SHA-256 (WebCrypto, present on the edge, in browsers
 * and workers) rather than a small hash such as FNV-1a: its output is uniform whatever the
 * structure of the ids (sequential, shared prefixes), which keeps shares even, and there is
 * no hand-written hash to get wrong. The model and alias are hashed in so that one client is
 * not in the canary of every rollout at once. Each part is URI-encoded (pure ASCII, never a
 * `/`) and joined with `/`, so the input is unambiguous and needs no TextEncoder.
 *
 * @example
 * const inCanary = (await canaryBucket('digits', 'production', 'c_3f9a0b12')) < 10;
 */
export async function canaryBucket(model: string, alias: string, clientId: string): Promise<number> {
  const key = [model, alias, clientId].map(encodeURIComponent).join('/');
  const hex = await sha256Hex(Uint8Array.from(key, (char) => char.charCodeAt(0)));
  // The first 32 bits as an unsigned integer, scaled to [0, 100).
  return (Number.parseInt(hex.slice(0, 8), 16) / 2 ** 32) * 100;
}
