import * as v from 'valibot';
import type { ModelFormat } from '../../protocol/manifest.ts';
import { weightPaths } from '../../protocol/model-json.ts';
import { parseStrictJson } from '../../protocol/strict-json.ts';

// What makes a tfjs model.json a model Edgeloop can load (the edge, the worker and `edgeloop
// init` hand it to tfjs's loadLayersModel or loadGraphModel): a layers topology (Keras) or a
// graph topology (a GraphDef of nodes), and a weights manifest whose shards are the version's
// weight files, holding exactly the bytes its weights need.

/** Bytes per value of the dtypes tfjs stores weights in (tfjs-core's DTYPE_VALUE_SIZE_MAP). */
const DTYPE_BYTES = { float32: 4, int32: 4, bool: 1, complex64: 8, string: 0 } as const;
/** Bytes per value of a quantized weight, by its stored dtype (tfjs-core io's quantization). */
const QUANTIZED_BYTES = { uint8: 1, uint16: 2, float16: 2 } as const;

const picklist = <T extends object>(of: T) => v.picklist(Object.keys(of) as (keyof T & string)[]);
const JsonObject = v.custom<object>((x) => typeof x === 'object' && x !== null, 'must be an object');

/** A layers topology (`model_config` wraps it in Keras's saved form): a class and its config. */
const LayersTopology = v.pipe(
  v.looseObject({ model_config: v.optional(v.unknown()) }),
  v.transform((topology) => topology.model_config ?? topology),
  v.looseObject({ class_name: v.pipe(v.string(), v.minLength(1)), config: JsonObject }),
);

/** A graph topology: TensorFlow's GraphDef as the converter writes it, nodes by name and op. */
const GraphTopology = v.looseObject({
  node: v.pipe(
    v.array(v.looseObject({ name: v.pipe(v.string(), v.minLength(1)), op: v.pipe(v.string(), v.minLength(1)) })),
    v.minLength(1),
  ),
});

const WeightsGroup = v.looseObject({
  paths: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)),
  weights: v.array(
    v.looseObject({
      name: v.string(),
      shape: v.array(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
      dtype: picklist(DTYPE_BYTES),
      quantization: v.optional(v.looseObject({ dtype: picklist(QUANTIZED_BYTES) })),
    }),
  ),
});
type WeightsGroup = v.InferOutput<typeof WeightsGroup>;

const LayersModelJson = v.looseObject({
  format: v.optional(v.literal('layers-model')),
  modelTopology: LayersTopology,
  weightsManifest: v.array(WeightsGroup),
});

const GraphModelJson = v.looseObject({
  format: v.optional(v.literal('graph-model')),
  modelTopology: GraphTopology,
  weightsManifest: v.array(WeightsGroup),
  signature: v.optional(
    v.looseObject({
      inputs: v.optional(v.record(v.string(), JsonObject)),
      outputs: v.optional(v.record(v.string(), JsonObject)),
    }),
  ),
});
export type GraphModelJson = v.InferOutput<typeof GraphModelJson>;

/** One issue as `field: message`, its path as JavaScript would write it. */
function issueText(issues: readonly v.BaseIssue<unknown>[]): string {
  const [issue] = issues;
  if (!issue) return 'invalid';
  const path = (issue.path ?? [])
    .map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`))
    .join('')
    .replace(/^\./, '');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * The tfjs format a parsed model.json says it is: `format` when it has one, else its topology
 * (a GraphDef's `node` list, or a Keras class); null when it is neither.
 *
 * @example
 * tfjsFormatOf({ format: 'graph-model', modelTopology: { node: [] } }); // 'tfjs-graph'
 */
export function tfjsFormatOf(json: unknown): Extract<ModelFormat, 'tfjs-layers' | 'tfjs-graph'> | null {
  if (typeof json !== 'object' || json === null) return null;
  const { format, modelTopology } = json as { format?: unknown; modelTopology?: unknown };
  if (format === 'graph-model') return 'tfjs-graph';
  if (format === 'layers-model') return 'tfjs-layers';
  if (typeof modelTopology !== 'object' || modelTopology === null) return null;
  if (Array.isArray((modelTopology as { node?: unknown }).node)) return 'tfjs-graph';
  const topology = modelTopology as { class_name?: unknown; model_config?: unknown };
  return typeof topology.class_name === 'string' || typeof topology.model_config === 'object' ? 'tfjs-layers' : null;
}

/** Bytes the weights of one group take in its shards: dtype (or quantized dtype) × shape. */
function groupBytes(group: WeightsGroup): number {
  return group.weights.reduce((sum, w) => {
    const values = w.shape.reduce((n, d) => n * d, 1);
    return sum + values * (w.quantization ? QUANTIZED_BYTES[w.quantization.dtype] : DTYPE_BYTES[w.dtype]);
  }, 0);
}

/**
 * Why the bytes of `modelPath` are not a tfjs model.json of `format` whose shards are exactly
 * `weightFiles` (sizes by path), or null. Messages start with the path and name the field.
 *
 * @example
 * tfjsModelProblem(bytes, 'model.json', 'tfjs-layers', new Map([['weights.bin', 12]]))
 * // 'model.json: weightsManifest[0] needs 16 bytes of weights (dtype × shape) but its shards hold 12'
 */
export function tfjsModelProblem(
  bytes: Uint8Array,
  modelPath: string,
  format: 'tfjs-layers' | 'tfjs-graph',
  weightFiles: ReadonlyMap<string, number>,
): string | null {
  let json: unknown;
  try {
    json = parseStrictJson(bytes);
  } catch {
    return `${modelPath} is not UTF-8 JSON`;
  }
  const found = tfjsFormatOf(json);
  if (found && found !== format)
    return `${modelPath} is a ${found} model.json, but the manifest says format "${format}"`;
  const parsed = v.safeParse(format === 'tfjs-graph' ? GraphModelJson : LayersModelJson, json);
  if (!parsed.success) return `${modelPath}: ${issueText(parsed.issues)}`;
  const named = new Set<string>();
  for (const [index, group] of parsed.output.weightsManifest.entries()) {
    const text = group.weights.findIndex((w) => w.dtype === 'string');
    if (format === 'tfjs-layers' && text >= 0) {
      return `${modelPath}: weightsManifest[${index}].weights[${text}].dtype: a layers model has no string weights`;
    }
    // Resolved as the loaders resolve them: relative to model.json's folder.
    const shards = weightPaths({ modelTopology: {}, weightsManifest: [group] }, modelPath);
    for (const shard of shards) {
      if (!weightFiles.has(shard)) {
        return `${modelPath}: weightsManifest[${index}].paths names "${shard}", which is not a file of the version with role "weights"`;
      }
      if (named.has(shard)) return `${modelPath}: weightsManifest names the shard "${shard}" twice`;
      named.add(shard);
    }
    const needed = groupBytes(group);
    const held = shards.reduce((sum, shard) => sum + (weightFiles.get(shard) ?? 0), 0);
    // String weights (a graph's lookup tables) have no fixed size: their shards are taken as they are.
    if (needed !== held && !group.weights.some((w) => w.dtype === 'string')) {
      return `${modelPath}: weightsManifest[${index}] needs ${needed} bytes of weights (dtype × shape) but its shards hold ${held}`;
    }
  }
  const unnamed = [...weightFiles.keys()].find((path) => !named.has(path));
  if (unnamed) return `${modelPath}: weightsManifest does not name the weights file "${unnamed}" of manifest.files`;
  return null;
}

/**
 * The names a graph model can be fed and asked by: its signature's keys and its nodes'
 * names (the executor takes both), and which nodes are placeholders (its inputs).
 *
 * @example
 * graphNames(json).inputs.has('input_1'); // true
 */
export function graphNames(json: GraphModelJson): { inputs: Set<string>; outputs: Set<string> } {
  const nodes = json.modelTopology.node;
  const placeholders = nodes.filter((n) => n.op === 'Placeholder').map((n) => n.name);
  return {
    inputs: new Set([...Object.keys(json.signature?.inputs ?? {}), ...placeholders]),
    outputs: new Set([...Object.keys(json.signature?.outputs ?? {}), ...nodes.map((n) => n.name)]),
  };
}

/**
 * Parses a graph model.json already checked by {@link tfjsModelProblem}.
 *
 * @example
 * const names = graphNames(parseGraphModelJson(bytes));
 */
export function parseGraphModelJson(bytes: Uint8Array): GraphModelJson {
  return v.parse(GraphModelJson, JSON.parse(new TextDecoder().decode(bytes)));
}
