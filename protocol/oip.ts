import * as v from 'valibot';
import type { Manifest, ModelFormat, TensorDtype } from './manifest.ts';

// Open Inference Protocol v2 (KServe, Triton), the JSON/REST binding: the edge serves it under
// /v2. Its bodies are the protocol's, not Edgeloop's, so they carry no `v` field: the path
// names the protocol version.

/** The protocol's tensor data types. */
export const OipDatatype = v.picklist([
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
]);
export type OipDatatype = v.InferOutput<typeof OipDatatype>;

/** A tensor's name, data type and shape (-1: any size) in model metadata. */
export const OipTensorMetadata = v.object({
  name: v.string(),
  datatype: OipDatatype,
  shape: v.array(v.pipe(v.number(), v.integer(), v.minValue(-1))),
});
export type OipTensorMetadata = v.InferOutput<typeof OipTensorMetadata>;

/** `GET /v2/models/{model}[/versions/{version}]`. */
export const OipModelMetadata = v.object({
  name: v.string(),
  versions: v.array(v.string()),
  platform: v.string(),
  inputs: v.array(OipTensorMetadata),
  outputs: v.array(OipTensorMetadata),
});
export type OipModelMetadata = v.InferOutput<typeof OipModelMetadata>;

/** `GET /v2`: the server's name, version and protocol extensions. */
export const OipServerMetadata = v.object({
  name: v.string(),
  version: v.string(),
  extensions: v.array(v.string()),
});
export type OipServerMetadata = v.InferOutput<typeof OipServerMetadata>;

export const OipLive = v.object({ live: v.boolean() });
export type OipLive = v.InferOutput<typeof OipLive>;
export const OipReady = v.object({ ready: v.boolean() });
export type OipReady = v.InferOutput<typeof OipReady>;
/** `GET /v2/models/{model}[/versions/{version}]/ready`. */
export const OipModelReady = v.object({ name: v.string(), ready: v.boolean() });
export type OipModelReady = v.InferOutput<typeof OipModelReady>;

/** `parameters` of a request, an input or an output: scalar values by name. */
export const OipParameters = v.pipe(
  // valibot's record would take an array as an object of its indexes.
  v.custom<Record<string, unknown>>(
    (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
    'must be an object of named values',
  ),
  v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])),
);
export type OipParameters = v.InferOutput<typeof OipParameters>;

/** Most elements one input tensor may hold (a 64 × 28 × 28 batch is 50,176). */
export const MAX_TENSOR_ELEMENTS = 1 << 20;

/** One input tensor of an infer request: `data` row-major, flat or nested as `shape`. */
export const OipInferInput = v.object({
  name: v.string(),
  shape: v.pipe(v.array(v.pipe(v.number(), v.safeInteger(), v.minValue(0))), v.minLength(1), v.maxLength(8)),
  datatype: OipDatatype,
  parameters: v.optional(OipParameters),
  data: v.array(v.unknown()),
});
export type OipInferInput = v.InferOutput<typeof OipInferInput>;

/** `POST /v2/models/{model}[/versions/{version}]/infer`. */
export const OipInferRequest = v.object({
  id: v.optional(v.string()),
  parameters: v.optional(OipParameters),
  inputs: v.pipe(v.array(OipInferInput), v.minLength(1)),
  outputs: v.optional(v.array(v.object({ name: v.string(), parameters: v.optional(OipParameters) }))),
});
export type OipInferRequest = v.InferOutput<typeof OipInferRequest>;

/** Most examples one explained request may hold: an explanation costs steps (or patches) × examples runs. */
export const MAX_EXPLAIN_EXAMPLES = 16;

/** Most integration steps an explanation may take (each is one forward and backward pass). */
export const MAX_EXPLAIN_STEPS = 256;

/**
 * The request `parameters` Edgeloop reads (others pass through unread, as the protocol allows):
 * `runtime` picks the version's tfjs-layers files (default) or its ONNX export; `explain` adds
 * per-input-element attributions (integrated gradients on tfjs, occlusion on ONNX) as the
 * outputs `attributions` (FP32, the input's shape) and `attribution_target` (INT32 [N], the
 * class explained per example); `explain_steps` sets integrated gradients' steps.
 */
export const EdgeloopInferParameters = v.object({
  runtime: v.optional(v.picklist(['tfjs', 'onnx'])),
  explain: v.optional(v.boolean()),
  explain_steps: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_EXPLAIN_STEPS))),
});
export type EdgeloopInferParameters = v.InferOutput<typeof EdgeloopInferParameters>;

/** One output tensor of an infer response, `data` flat and row-major. */
export const OipInferOutput = v.object({
  name: v.string(),
  shape: v.array(v.number()),
  datatype: OipDatatype,
  parameters: v.optional(OipParameters),
  data: v.array(v.union([v.number(), v.boolean(), v.string()])),
});
export type OipInferOutput = v.InferOutput<typeof OipInferOutput>;

export const OipInferResponse = v.object({
  model_name: v.string(),
  model_version: v.optional(v.string()),
  id: v.optional(v.string()),
  parameters: v.optional(OipParameters),
  outputs: v.array(OipInferOutput),
});
export type OipInferResponse = v.InferOutput<typeof OipInferResponse>;

/** Every /v2 error: the protocol's body. Edgeloop's stable code is in the `Edgeloop-Error-Code` header. */
export const OipError = v.object({ error: v.string() });
export type OipError = v.InferOutput<typeof OipError>;

/**
 * The header naming the client a /v2 request without a version is made for: the production
 * alias's canary serves the clients in its share, as it does on the devices.
 */
export const CLIENT_ID_HEADER = 'Edgeloop-Client-Id';

/** The header that carries Edgeloop's stable error code beside a /v2 error body. */
export const OIP_ERROR_CODE_HEADER = 'Edgeloop-Error-Code';

/** The platform string of a manifest format, as Triton and KServe name them. */
const PLATFORMS: Record<ModelFormat, string> = {
  'tfjs-layers': 'tensorflowjs_layers',
  'tfjs-graph': 'tensorflowjs_graph',
  onnx: 'onnxruntime_onnx',
};

/** The protocol's datatype of each manifest dtype. */
export const DATATYPES: Record<TensorDtype, OipDatatype> = {
  float32: 'FP32',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  bool: 'BOOL',
};

/**
 * A model version's metadata in the protocol's terms, from its manifest.
 *
 * @example
 * oipMetadata(manifest, 3); // { name: 'digits', versions: ['3'], platform: 'tensorflowjs_layers', inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 784] }], … }
 */
export function oipMetadata(manifest: Manifest, version: number): OipModelMetadata {
  const tensor = (spec: Manifest['inputs'][number]): OipTensorMetadata => ({
    name: spec.name,
    datatype: DATATYPES[spec.dtype],
    shape: [...spec.shape],
  });
  return {
    name: manifest.name,
    versions: [String(version)],
    platform: PLATFORMS[manifest.format],
    inputs: manifest.inputs.map(tensor),
    outputs: manifest.outputs.map(tensor),
  };
}
