import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';

// A graph model runs synchronously unless it holds control flow or ops of dynamic output
// shape, which only executeAsync runs (and executeAsync warns on every call of a graph without
// them). The edge, the worker and `edgeloop init` run graphs through here.

/**
 * Runs `model` on named inputs and returns the named outputs, in order: `execute`, or
 * `executeAsync` for a graph that needs it. The caller disposes the outputs.
 *
 * @example
 * const [probs] = await executeGraph(model, { x: tf.zeros([1, 4]) }, ['probs']);
 */
export async function executeGraph(model: GraphModel, feeds: NamedTensorMap, outputs: string[]): Promise<Tensor[]> {
  let out: Tensor | Tensor[];
  try {
    out = model.execute(feeds, outputs);
  } catch (error) {
    if (!/executeAsync/.test(error instanceof Error ? error.message : String(error))) throw error;
    out = await model.executeAsync(feeds, outputs);
  }
  return Array.isArray(out) ? out : [out];
}
