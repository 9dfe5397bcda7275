import * as tf from '@tensorflow/tfjs-core';
import { trialInput } from '../../../models/formats/trial.ts';
import type { Manifest } from '../../../protocol/manifest.ts';
import { runOnce, type TfjsModel } from './tfjs.ts';

// A graph model has no layers to count (infer/cost.ts forwardWork), and its GraphDef carries no
// shapes past the inputs: its work is read off one profiled run on zeros instead, kernel by
// kernel, with the same units (multiply-adds plus output elements).

const size = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/** Multiply-adds per output element of a kernel, from its input shapes (1 for elementwise work). */
function perOutput(kernel: string, inputs: number[][], output: number[]): number {
  const filter = inputs[1] ?? [];
  if (/^(Fused)?Conv2D$|^Conv2DBackpropInput$|^Conv3D$/.test(kernel)) {
    // Filter [kh, kw, in, out]: each output element sums kh × kw × in products.
    return size(filter) / (filter.at(-1) ?? 1);
  }
  if (/^(Fused)?DepthwiseConv2d(Native)?$/i.test(kernel)) return size(filter.slice(0, 2));
  if (/MatMul$/.test(kernel)) {
    // a [.., M, K] · b [.., K, N] → [.., M, N]: the shared size, transposed or not.
    const a = inputs[0] ?? [];
    const rows = size(output) / (output.at(-1) ?? 1);
    return rows > 0 ? size(a) / rows : 1;
  }
  return 1;
}

/**
 * Work units of one example through a graph model, from one profiled run on zeros (which also
 * proves the model runs), and the input elements of that example: a request's work scales by
 * its own input elements over these (infer/cost.ts).
 *
 * @example
 * const { perExample } = await graphWork(loaded, manifest, 'mobilenet v1');
 */
export async function graphWork(
  loaded: TfjsModel,
  manifest: Pick<Manifest, 'inputs' | 'outputs'>,
  label: string,
): Promise<{ perExample: number; inputElements: number }> {
  const inputs = manifest.inputs.map(trialInput);
  const profile = await tf.profile(async () => {
    await runOnce(loaded, manifest, inputs, label);
  });
  let work = 0;
  for (const kernel of profile.kernels) {
    const output = kernel.outputShapes[0] ?? [];
    work += size(output) * perOutput(kernel.name, kernel.inputShapes as number[][], output);
  }
  return {
    perExample: Math.max(1, Math.ceil(work)),
    inputElements: inputs.reduce((n, t) => n + t.data.length, 0),
  };
}
