import * as v from 'valibot';
import { Manifest } from './manifest.ts';
import { FilePath, ModelName, Sha256Hex, VersionNumber } from './names.ts';
import { Rollout } from './rollout.ts';

export const StoredFile = v.object({ path: FilePath, sha256: Sha256Hex, size: v.number() });
export type StoredFile = v.InferOutput<typeof StoredFile>;

export const PublishResult = v.object({ model: ModelName, version: v.number(), files: v.array(StoredFile) });
export type PublishResult = v.InferOutput<typeof PublishResult>;

export const VersionStatus = v.picklist(['ready', 'archived']);
export type VersionStatus = v.InferOutput<typeof VersionStatus>;

export const VersionInfo = v.object({
  model: ModelName,
  version: v.number(),
  status: VersionStatus,
  createdAt: v.number(),
  manifest: Manifest,
  files: v.array(StoredFile),
});
export type VersionInfo = v.InferOutput<typeof VersionInfo>;

export const VersionSummary = v.object({ version: v.number(), status: VersionStatus, createdAt: v.number() });
export const VersionList = v.object({ model: ModelName, versions: v.array(VersionSummary) });
export type VersionList = v.InferOutput<typeof VersionList>;

/** An alias whose current version has unacknowledged drift alerts: how many windows, which features, since when. */
export const Attention = v.object({
  version: v.number(),
  windows: v.number(),
  drifted: v.array(v.string()),
  /** Start (ms) of the earliest unacknowledged drifted window. */
  since: v.number(),
});
export type Attention = v.InferOutput<typeof Attention>;

export const ModelList = v.object({
  models: v.array(
    v.object({
      name: ModelName,
      latestVersion: v.number(),
      aliases: v.record(v.string(), v.number()),
      /** By alias; absent from servers older than drift monitoring. */
      attention: v.optional(v.record(v.string(), Attention)),
    }),
  ),
});
export type ModelList = v.InferOutput<typeof ModelList>;

export const SetAlias = v.strictObject({
  version: VersionNumber,
  reason: v.optional(v.pipe(v.string(), v.maxLength(1000))),
});
export type SetAlias = v.InferOutput<typeof SetAlias>;

/**
 * One entry of an alias's history. `move` and `rollback` change the alias from `from` to `to`;
 * a `rollout` entry leaves it where it is (`from` = `to`) and carries the rollout it set.
 */
export const AliasEvent = v.object({
  kind: v.picklist(['move', 'rollout', 'rollback']),
  at: v.number(),
  from: v.nullable(v.number()),
  to: v.number(),
  reason: v.nullable(v.string()),
  keyId: v.string(),
  rollout: v.optional(Rollout),
});
export type AliasEvent = v.InferOutput<typeof AliasEvent>;
export const AliasInfo = v.object({
  model: ModelName,
  alias: v.string(),
  version: v.number(),
  rollout: Rollout,
  history: v.array(AliasEvent),
});
export type AliasInfo = v.InferOutput<typeof AliasInfo>;

export const Resolution = v.object({
  model: ModelName,
  alias: v.string(),
  version: v.number(),
  role: v.picklist(['stable', 'canary']),
  /** The shadow version of the rollout, if any: to run alongside `version`, its output not shown. */
  shadow: v.optional(v.number()),
});
export type Resolution = v.InferOutput<typeof Resolution>;

export const Health = v.object({ ok: v.literal(true), version: v.string() });
export type Health = v.InferOutput<typeof Health>;

export const ErrorBody = v.object({ error: v.object({ code: v.string(), message: v.string() }) });
export type ErrorBody = v.InferOutput<typeof ErrorBody>;
