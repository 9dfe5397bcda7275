import type * as v from 'valibot';
import { argmax } from '../../protocol/argmax.ts';
import type { Suggestion, SuggestOptions, SuggestResult } from '../../protocol/train.ts';
import { type PredictionRow, withStorage } from '../db.ts';
import { runModel } from '../infer/run-model.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { outputsOf } from './features.ts';
import { exampleRow, rowSize } from './rows.ts';

/**
 * Uncertainty sampling: among the `scan` most recent predictions of the loaded model that have
 * no label yet (and still hold their input), the `k` the model serving now is least sure of, by
 * `margin` (top-1 minus top-2 probability, smallest first) or `entropy` (largest first). Reads
 * only; nothing is recorded.
 *
 * @example
 * const { suggestions } = await suggest(runtime, loaded, { v: 1, k: 5, by: 'margin', scan: 500 });
 */
export async function suggest(
  runtime: Pick<Runtime, 'db'>,
  loaded: LoadedModel,
  options: v.InferOutput<typeof SuggestOptions>,
): Promise<SuggestResult> {
  const { db } = runtime;
  const feedback = await withStorage('read feedback', () => db.feedback.toArray());
  const labelled = new Set(feedback.map((row) => row.predictionId));
  const candidates = await withStorage('read predictions', () =>
    db.predictions
      .orderBy('ts')
      .reverse()
      .filter((p) => p.model === loaded.name && p.input.length === loaded.inputSize && !labelled.has(p.id))
      // A model of several inputs scores records that hold every one of them.
      .filter((p) => loaded.signature.inputs.length === 1 || exampleRow(loaded, p) !== null)
      .limit(options.scan)
      .toArray(),
  );
  const probabilities = await score(loaded, candidates);
  const classes = loaded.classes;
  const scored: Suggestion[] = candidates.map((prediction, i) => {
    const outputs = Array.from(probabilities.subarray(i * classes, (i + 1) * classes));
    const sorted = [...outputs].sort((a, b) => b - a);
    return {
      predictionId: prediction.id,
      ts: prediction.ts,
      label: argmax(outputs),
      outputs,
      margin: (sorted[0] ?? 0) - (sorted[1] ?? 0),
      entropy: -outputs.reduce((sum, p) => (p > 0 ? sum + p * Math.log(p) : sum), 0),
      input: Float32Array.from(prediction.input),
    };
  });
  scored.sort(options.by === 'margin' ? (a, b) => a.margin - b.margin : (a, b) => b.entropy - a.entropy);
  return { v: 1, by: options.by, scanned: candidates.length, suggestions: scored.slice(0, options.k) };
}

async function score(loaded: LoadedModel, rows: PredictionRow[]): Promise<Float32Array> {
  const out = new Float32Array(rows.length * loaded.classes);
  if (loaded.onnx) {
    // ONNX Runtime sessions here take one input at a time.
    for (const [i, row] of rows.entries()) out.set(await runModel(loaded, row.input), i * loaded.classes);
    return out;
  }
  // Every input of each prediction (rows.ts): the filter above kept records that hold them.
  const size = rowSize(loaded.registry);
  const inputs = new Float32Array(rows.length * size);
  for (const [i, row] of rows.entries()) inputs.set(exampleRow(loaded, row) ?? row.input, i * size);
  return outputsOf(loaded.model, loaded.inputShape, inputs, rows.length);
}
