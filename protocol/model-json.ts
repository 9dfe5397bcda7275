import * as v from 'valibot';
import { EdgeloopError } from './errors.ts';

/**
 * The parts of a tfjs `model.json` Edgeloop reads (the worker and the edge load it): a layers
 * model's Keras topology or a graph model's GraphDef, its weights manifest and, for graph
 * models, the signature naming their inputs and outputs.
 */
const ModelJson = v.looseObject({
  format: v.optional(v.string()),
  modelTopology: v.record(v.string(), v.unknown()),
  signature: v.optional(v.record(v.string(), v.unknown())),
  weightsManifest: v.array(
    v.object({
      paths: v.array(v.string()),
      weights: v.array(v.looseObject({ name: v.string(), shape: v.array(v.number()), dtype: v.string() })),
    }),
  ),
});
export type ModelJson = v.InferOutput<typeof ModelJson>;

/** Parses model.json bytes (already verified by digest). */
export function parseModelJson(bytes: ArrayBuffer, path: string): ModelJson {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new EdgeloopError('INVALID_MANIFEST', `${path} is not JSON`);
  }
  const parsed = v.safeParse(ModelJson, json);
  if (!parsed.success) throw new EdgeloopError('INVALID_MANIFEST', `${path}: ${parsed.issues[0].message}`);
  return parsed.output;
}

/**
 * The version-relative paths of the weight shards, in the order their bytes concatenate.
 * model.json names them relative to its own folder.
 */
export function weightPaths(modelJson: ModelJson, modelPath: string): string[] {
  const folder = modelPath.includes('/') ? modelPath.slice(0, modelPath.lastIndexOf('/') + 1) : '';
  return modelJson.weightsManifest.flatMap((group) => group.paths.map((p) => folder + p.replace(/^\.\//, '')));
}
