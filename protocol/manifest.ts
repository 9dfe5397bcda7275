import * as v from 'valibot';
import { FilePath, ModelName, Sha256Hex } from './names.ts';

export const TensorSpec = v.strictObject({
  name: v.string(),
  dtype: v.picklist(['float32', 'int32']),
  /** -1 marks the batch dimension. */
  shape: v.array(v.pipe(v.number(), v.integer(), v.minValue(-1))),
});
export type TensorSpec = v.InferOutput<typeof TensorSpec>;

export const FeatureSpec = v.object({
  name: v.string(),
  kind: v.picklist(['numeric', 'categorical']),
});

/** What a file in a version is for; the worker downloads `model`/`weights` to predict, the rest on demand. */
export const FileRole = v.picklist(['model', 'weights', 'replay', 'holdout', 'reference', 'other']);
export type FileRole = v.InferOutput<typeof FileRole>;

export const ManifestFile = v.object({
  path: FilePath,
  role: FileRole,
  /** When given, the registry refuses an upload whose bytes hash differently. */
  sha256: v.optional(Sha256Hex),
});

/**
 * A model version's manifest, as published. The edge adds `files[].sha256/size`
 * from what it stored.
 */
export const Manifest = v.object({
  v: v.literal(1),
  name: ModelName,
  format: v.picklist(['tfjs-layers']),
  description: v.optional(v.string()),
  inputs: v.pipe(v.array(TensorSpec), v.minLength(1)),
  outputs: v.pipe(v.array(TensorSpec), v.minLength(1)),
  /** Class labels for classifier outputs, by index. */
  labels: v.optional(v.array(v.string())),
  features: v.object({ features: v.array(FeatureSpec) }),
  files: v.pipe(v.array(ManifestFile), v.minLength(1)),
  metrics: v.optional(v.record(v.string(), v.number())),
  training: v.optional(
    v.object({
      dataset: v.string(),
      samples: v.number(),
      split: v.object({ train: v.number(), holdout: v.number() }),
      seed: v.number(),
      epochs: v.optional(v.number()),
      backend: v.optional(v.string()),
    }),
  ),
  lineage: v.optional(v.object({ parentVersion: v.optional(v.number()), runId: v.optional(v.string()) })),
});
export type Manifest = v.InferOutput<typeof Manifest>;

/** Binary layout of `replay.bin` and `holdout.bin`: records of 1 label byte + 784 pixel bytes (0–255). */
export const DIGIT_RECORD_BYTES = 785;
