import type * as v from 'valibot';
import { integratedGradients } from '../../models/explain/integrated-gradients.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { ExplainOptions, ExplainResult } from '../../protocol/worker-api.ts';
import { onBackend } from '../backends/errors.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { servingBackend } from './run-model.ts';

/**
 * Integrated gradients of the loaded model for one input, on the active backend. The input is
 * checked as `predict` checks it (the model's size, values in [0, 1]); nothing is recorded.
 * A target outside the model's classes or steps out of range are INVALID_INPUT.
 *
 * @example
 * const { attributions, target, gap } = await explain(runtime, loaded, pixels, { v: 1, steps: 100 });
 */
export async function explain(
  runtime: Runtime,
  loaded: LoadedModel,
  input: Float32Array,
  options: v.InferOutput<typeof ExplainOptions>,
): Promise<ExplainResult> {
  checkInput(input, loaded.inputSize);
  const backend = servingBackend(runtime.backends, loaded);
  const start = performance.now();
  const result = await onBackend('explain', () =>
    integratedGradients(
      loaded.model,
      { shape: [1, ...loaded.inputShape], data: input },
      { steps: options.steps, target: options.target, baseline: options.baseline },
    ),
  );
  const latencyMs = performance.now() - start;
  const [example] = result.examples;
  if (!example) throw new EdgeloopError('INTERNAL', 'explain: no example was explained');
  return {
    v: 1,
    model: loaded.name,
    version: loaded.version,
    method: 'integrated-gradients',
    attributions: Array.from(result.attributions),
    target: example.target,
    score: example.score,
    baselineScore: example.baselineScore,
    gap: example.gap,
    steps: result.steps,
    backend,
    latencyMs,
  };
}

// predict's check (worker/infer/predict.ts keeps its own private copy): the model's size, values in [0, 1].
function checkInput(input: Float32Array, size: number): void {
  if (input.length !== size) {
    throw new EdgeloopError('INVALID_INPUT', `input: expected ${size} floats, got ${input.length}`);
  }
  const bad = input.findIndex((x) => !(x >= 0 && x <= 1));
  if (bad >= 0) throw new EdgeloopError('INVALID_INPUT', `input[${bad}]: ${input[bad]} is not in [0, 1]`);
}
