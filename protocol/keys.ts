import * as v from 'valibot';

/**
 * What an API key may do. `admin` grants everything (including key management),
 * `publish` grants registry writes and `read`, `client` is the publishable key embedded
 * in pages (resolve/download assigned models, post events).
 */
export const Scope = v.picklist(['admin', 'publish', 'read', 'client']);
export type Scope = v.InferOutput<typeof Scope>;

/** The body of `POST /v1/keys`. */
export const CreateKey = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  scopes: v.pipe(
    v.array(Scope),
    v.minLength(1),
    v.check((s) => new Set(s).size === s.length, 'scopes must not repeat'),
  ),
});
export type CreateKey = v.InferOutput<typeof CreateKey>;

/** `201` answer of `POST /v1/keys`: the only time the key itself is shown. */
export const CreatedKey = v.object({
  id: v.string(),
  name: v.string(),
  key: v.string(),
  scopes: v.array(Scope),
});
export type CreatedKey = v.InferOutput<typeof CreatedKey>;

export const KeyInfo = v.object({
  id: v.string(),
  name: v.string(),
  scopes: v.array(Scope),
  createdAt: v.number(),
  revokedAt: v.nullable(v.number()),
});
export type KeyInfo = v.InferOutput<typeof KeyInfo>;

export const KeyList = v.object({ keys: v.array(KeyInfo) });
export type KeyList = v.InferOutput<typeof KeyList>;
