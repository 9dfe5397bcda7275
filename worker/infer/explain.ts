import type * as v from 'valibot';
import { type ExplainWork, explainPasses } from '../../models/explain/cost.ts';
import { integratedGradients } from '../../models/explain/integrated-gradients.ts';
import { occlusion } from '../../models/explain/occlusion.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import { asFloat32 } from '../../protocol/oip-tensor.ts';
import type { TensorInput } from '../../protocol/predict.ts';
import { DEFAULT_EXPLAIN_BUDGET_MS, type ExplainOptions, type ExplainResult } from '../../protocol/worker-api.ts';
import { onBackend } from '../backends/errors.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { feedsOf } from './feeds.ts';
import { runFeeds, servingBackend, timePredicts } from './run-model.ts';

/** Integrated gradients' steps when none are asked for (models/explain/integrated-gradients.ts's default). */
const DEFAULT_STEPS = 50;

/**
 * Explains the loaded model's first output for one input, on the active backend: integrated
 * gradients for a tfjs layers model (the default), occlusion for any format. The input is
 * checked as `predict` checks it (feeds.ts); a model of several inputs is refused. Before
 * anything runs, the work is estimated — forward-pass equivalents (models/explain/cost.ts)
 * times this device's measured milliseconds per predict — and over `budgetMs` it is refused
 * with TOO_COSTLY, the estimate and how to fit. Nothing is recorded.
 *
 * @example
 * const { attributions, target, gap } = await explain(runtime, loaded, pixels, { v: 1, steps: 100 });
 * await explain(runtime, loaded, image, { v: 1, method: 'occlusion', budgetMs: 5_000 });
 */
export async function explain(
  runtime: Runtime,
  loaded: LoadedModel,
  input: TensorInput,
  options: v.InferOutput<typeof ExplainOptions>,
): Promise<ExplainResult> {
  const { signature } = loaded;
  if (signature.inputs.length !== 1) {
    throw new EdgeloopError(
      'INVALID_INPUT',
      `explain: ${loaded.name} takes ${signature.inputs.length} inputs; explain takes models of one`,
    );
  }
  const [feed] = feedsOf(signature, input);
  if (!feed) throw new EdgeloopError('INTERNAL', 'explain: no feed');
  const layers = !loaded.graph && !loaded.onnx;
  const method = options.method ?? (layers ? 'integrated-gradients' : 'occlusion');
  if (method === 'integrated-gradients' && !layers) {
    throw new EdgeloopError(
      'UNSUPPORTED_MODEL',
      `explain: integrated gradients need a tfjs layers model's gradients; ${loaded.name} is ${loaded.info.manifest.format}: use method 'occlusion'`,
    );
  }
  const work: ExplainWork =
    method === 'integrated-gradients'
      ? { method, steps: options.steps ?? DEFAULT_STEPS }
      : { method, shape: feed.shape };
  const estimateMs = await estimate(loaded, work, options.budgetMs ?? DEFAULT_EXPLAIN_BUDGET_MS);
  const backend = servingBackend(runtime.backends, loaded);
  const start = performance.now();
  const tensor = { shape: feed.shape, data: asFloat32(feed.data) };
  const target = options.target;
  const result =
    work.method === 'integrated-gradients'
      ? await onBackend('explain', () =>
          integratedGradients(loaded.model, tensor, { steps: work.steps, target, baseline: options.baseline }),
        )
      : await occlusion(
          async (batch) => asFloat32((await runFeeds(loaded, [batch]))[0]?.data ?? new Float32Array()),
          tensor,
          { target, baseline: options.baseline },
        );
  const latencyMs = performance.now() - start;
  const [example] = result.examples;
  if (!example) throw new EdgeloopError('INTERNAL', 'explain: no example was explained');
  const gradients =
    result.method === 'integrated-gradients' && 'gap' in example
      ? { baselineScore: example.baselineScore as number, gap: example.gap as number, steps: result.steps }
      : {};
  return {
    v: 1,
    model: loaded.name,
    version: loaded.version,
    method: result.method,
    attributions: Array.from(result.attributions),
    target: example.target,
    score: example.score,
    ...gradients,
    estimateMs,
    backend,
    latencyMs,
  };
}

/** The explanation's estimated milliseconds; TOO_COSTLY over the budget, before anything runs. */
async function estimate(loaded: LoadedModel, work: ExplainWork, budgetMs: number): Promise<number> {
  const { backend } = loaded.backend;
  // The load's warm-up measured this device; a model that skipped it is timed now, once.
  const msPerPredict = loaded.backend.warmupMs[backend] ?? (await timePredicts(loaded, 1));
  const passes = 1 + explainPasses(work);
  const ms = passes * msPerPredict;
  if (ms <= budgetMs) return ms;
  const fit =
    work.method === 'integrated-gradients'
      ? `pass at most ${Math.max(0, Math.floor((budgetMs / msPerPredict - 3) / 4 - 1))} steps, or a larger budgetMs`
      : 'pass a larger budgetMs, or explain at the edge';
  throw new EdgeloopError(
    'TOO_COSTLY',
    `explain would take about ${seconds(ms)} (${passes} passes × ${msPerPredict.toFixed(1)} ms per predict on ${backend}); the budget is ${seconds(budgetMs)}: ${fit}`,
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
