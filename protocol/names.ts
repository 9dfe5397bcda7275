import * as v from 'valibot';

/** Model names: lower-case, URL-safe, as they appear in registry paths. */
export const ModelName = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'model name must match ^[a-z0-9][a-z0-9_-]{0,63}$'),
);
export type ModelName = v.InferOutput<typeof ModelName>;

/** Alias names follow MLflow's rule; `latest` and `v<number>` are reserved. */
export const AliasName = v.pipe(
  v.string(),
  v.regex(/^[\w-]{1,255}$/, 'alias must match ^[\\w-]+$ and be at most 255 characters'),
  v.check((s) => s !== 'latest' && !/^v\d+$/.test(s), 'alias names latest and v<number> are reserved'),
);
export type AliasName = v.InferOutput<typeof AliasName>;

export const ClientId = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_-]{8,64}$/, 'clientId must match ^[A-Za-z0-9_-]{8,64}$'),
);
export type ClientId = v.InferOutput<typeof ClientId>;

/** The largest version number, as in the `{version}` path parameter (at most nine digits). */
export const MAX_VERSION = 999_999_999;

export const VersionNumber = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_VERSION));

/** File paths inside a version: relative, no `..`, no leading slash. */
export const FilePath = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/, 'file path must be relative and URL-safe'),
  v.maxLength(200),
);

export const Sha256Hex = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lower-case hex digits'));

/** Keys valibot's `record` drops without a word (they would reach an object's prototype). */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A record schema that refuses arrays (valibot's `record`, like `object`, takes any object and
 * would read `[]` as `{}`) and the keys `__proto__`, `constructor` and `prototype` (which
 * `record` silently leaves out, so the body would be stored without them). For records in
 * request bodies.
 *
 * @example
 * const Tags = jsonRecord(v.string(), v.string());
 * v.safeParse(Tags, []).success; // false
 * v.safeParse(Tags, JSON.parse('{"__proto__": "x"}')).success; // false
 */
export function jsonRecord<const K extends v.GenericSchema<string, string>, const V extends v.GenericSchema>(
  key: K,
  value: V,
) {
  return v.pipe(
    v.custom<Record<string, unknown>>(
      (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
      'must be a JSON object',
    ),
    v.check(
      (x) => !Object.keys(x).some((k) => RESERVED_KEYS.has(k)),
      'keys __proto__, constructor and prototype are not allowed',
    ),
    v.record(key, value),
  );
}
