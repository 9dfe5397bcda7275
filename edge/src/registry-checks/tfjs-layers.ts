import * as v from 'valibot';
import type { Manifest } from '../../../protocol/manifest.ts';
import { weightPaths } from '../../../protocol/model-json.ts';
import { describeIssues } from '../http/issues.ts';

// What makes a tfjs-layers model.json a model Edgeloop can load (edge/src/infer/tfjs.ts and the
// worker hand it to tfjs's loadLayersModel): a layers topology, and a weights manifest whose
// shards are the version's weight files, holding exactly the bytes its weights need.

/** Bytes per value of the dtypes tfjs stores weights in (tfjs-core's DTYPE_VALUE_SIZE_MAP). */
const DTYPE_BYTES = { float32: 4, int32: 4, bool: 1, complex64: 8 } as const;
/** Bytes per value of a quantized weight, by its stored dtype (tfjs-core io's quantization). */
const QUANTIZED_BYTES = { uint8: 1, uint16: 2, float16: 2 } as const;

const picklist = <T extends object>(of: T) => v.picklist(Object.keys(of) as (keyof T & string)[]);
const JsonObject = v.custom<object>((x) => typeof x === 'object' && x !== null, 'must be an object');

/** A layers topology (`model_config` wraps it in Keras's saved form): a class and its config. */
const Topology = v.looseObject({ class_name: v.pipe(v.string(), v.minLength(1)), config: JsonObject });

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

const LayersModelJson = v.looseObject({
  format: v.optional(v.literal('layers-model')),
  modelTopology: v.pipe(
    v.looseObject({ model_config: v.optional(v.unknown()) }),
    v.transform((topology) => topology.model_config ?? topology),
    Topology,
  ),
  weightsManifest: v.array(WeightsGroup),
});
type WeightsGroup = v.InferOutput<typeof WeightsGroup>;

/** Bytes the weights of one group take in its shards: dtype (or quantized dtype) × shape. */
function groupBytes(group: WeightsGroup): number {
  return group.weights.reduce((sum, w) => {
    const values = w.shape.reduce((n, d) => n * d, 1);
    return sum + values * (w.quantization ? QUANTIZED_BYTES[w.quantization.dtype] : DTYPE_BYTES[w.dtype]);
  }, 0);
}

/**
 * Why the bytes of `modelPath` are not a tfjs-layers model.json for `manifest`'s files (sizes
 * by path), or null. Messages start with the path and name the field.
 *
 * @example
 * layersModelProblem(bytes, 'model.json', manifest, new Map([['weights.bin', 16]]))
 * // 'model.json: weightsManifest[0] needs 16 bytes of weights (dtype × shape) but its shards hold 12'
 */
export function layersModelProblem(
  bytes: Uint8Array,
  modelPath: string,
  manifest: Manifest,
  sizes: ReadonlyMap<string, number>,
): string | null {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return `${modelPath} is not UTF-8 JSON`;
  }
  const parsed = v.safeParse(LayersModelJson, json);
  if (!parsed.success) return `${modelPath}: ${describeIssues(parsed.issues)}`;
  const { weightsManifest } = parsed.output;
  const weightFiles = new Set(manifest.files.filter((f) => f.role === 'weights').map((f) => f.path));
  const named = new Set<string>();
  for (const [index, group] of weightsManifest.entries()) {
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
    const held = shards.reduce((sum, shard) => sum + (sizes.get(shard) ?? 0), 0);
    if (needed !== held) {
      return `${modelPath}: weightsManifest[${index}] needs ${needed} bytes of weights (dtype × shape) but its shards hold ${held}`;
    }
  }
  const unnamed = [...weightFiles].find((path) => !named.has(path));
  if (unnamed) return `${modelPath}: weightsManifest does not name the weights file "${unnamed}" of manifest.files`;
  return null;
}
