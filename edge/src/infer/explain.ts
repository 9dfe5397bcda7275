import type { Explanation } from '../../../models/explain/common.ts';
import { type ExplainWork, forwardWork } from '../../../models/explain/cost.ts';
import { integratedGradients } from '../../../models/explain/integrated-gradients.ts';
import { occlusion } from '../../../models/explain/occlusion.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import {
  type EdgeloopInferParameters,
  MAX_EXPLAIN_EXAMPLES,
  type OipInferOutput,
  type OipParameters,
} from '../../../protocol/oip.ts';
import { asFloat32, type Tensor } from '../../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { gradientRows } from './cost.ts';
import { lane } from './lane.ts';
import { runOnnxVersion, runTfjsVersion, type Served, withTfjsModel } from './serve.ts';

// Explanations of /v2 infer (`parameters.explain`): integrated gradients on a tfjs layers
// model, occlusion on graph models and through ONNX Runtime (ORT gives no gradients). The
// algorithms live in models/explain/, shared with the browser worker; their input errors
// become 400s here.

/** Runs `explain`, turning the algorithms' INVALID_INPUT errors into the API's. */
async function translated<T>(explain: () => Promise<T>): Promise<T> {
  try {
    return await explain();
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === ErrorCode.INVALID_INPUT) {
      throw new ApiError(400, ErrorCode.INVALID_INPUT, `explain: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The one input an explanation is made for: models with several inputs are not explained, nor
 * batches of more than MAX_EXPLAIN_EXAMPLES.
 * Called before the model runs, so a refused explanation costs no inference.
 *
 * @example
 * const input = explainedInput(info, inputs); // before the model runs
 */
export function explainedInput(info: VersionInfo, inputs: readonly Tensor[]): Tensor {
  const [input] = inputs;
  if (!input || inputs.length > 1) {
    throw new ApiError(
      400,
      ErrorCode.INVALID_INPUT,
      `explain: ${info.model} takes ${inputs.length} inputs; only single-input models are explained`,
    );
  }
  const examples = input.shape[0] ?? 0;
  if (examples > MAX_EXPLAIN_EXAMPLES) {
    throw new ApiError(
      400,
      ErrorCode.INVALID_INPUT,
      `explain: the batch holds ${examples} examples; explanations take at most ${MAX_EXPLAIN_EXAMPLES} per request`,
    );
  }
  return input;
}

/** The largest `batchSize` both algorithms take (integrated gradients 1,024, occlusion 4,096). */
const MAX_ROWS_PER_CALL = 1024;

/** Integrated gradients' steps unless the request sets them: 50 miss 1% completeness on some digits. */
export const DEFAULT_EXPLAIN_STEPS = 100;

/**
 * Integrated gradients of a version's tfjs model for each example (baseline zeros, the top class),
 * a few path points per gradient call (a chunk's worth, infer/chunks.ts), each call after
 * `owner`'s turn on the isolate's lane (infer/lane.ts): an explanation takes seconds of CPU, and
 * the isolate serves other requests between two calls.
 *
 * @example
 * const { value } = await explainTfjs(env.ARTIFACTS, info, explainedInput(info, inputs), 64, 'client:c_1');
 */
export function explainTfjs(
  bucket: R2Bucket,
  info: VersionInfo,
  input: Tensor,
  steps: number | undefined,
  owner: string,
): Promise<Served<Explanation>> {
  return translated(() =>
    withTfjsModel(bucket, info, ({ loaded }) => {
      if (loaded.format !== 'tfjs-layers') throw new Error('integrated gradients take a tfjs layers model');
      return lane.within(owner, async (turn) => {
        await turn();
        return integratedGradients(loaded.model, input, {
          steps: steps ?? DEFAULT_EXPLAIN_STEPS,
          batchSize: Math.min(MAX_ROWS_PER_CALL, gradientRows(forwardWork(loaded.model))),
          pause: turn,
        });
      });
    }),
  );
}

/**
 * The work explaining `input` takes on `runtime` (integrated gradients on a tfjs layers model,
 * occlusion otherwise), for infer/cost.ts.
 *
 * @example
 * requestWork(perExample, 1, explainWork(info, 'tfjs', asked, input));
 */
export function explainWork(
  info: VersionInfo,
  runtime: 'tfjs' | 'onnx',
  asked: EdgeloopInferParameters,
  input: Tensor,
): ExplainWork {
  return runtime === 'tfjs' && info.manifest.format === 'tfjs-layers'
    ? { method: 'integrated-gradients', steps: asked.explain_steps ?? DEFAULT_EXPLAIN_STEPS }
    : { method: 'occlusion', shape: input.shape };
}

/**
 * Occlusion of a version's model for each example, on `runtime` (a graph model on tfjs, any
 * ONNX model on ORT): one call per `rowsPerCall` occluded copies (a chunk's worth, infer/chunks.ts).
 *
 * @example
 * const explanation = await explainByOcclusion(env, info, 'onnx', explainedInput(info, inputs), chunkRows(perExample), 'api');
 */
export function explainByOcclusion(
  env: Env,
  info: VersionInfo,
  runtime: 'tfjs' | 'onnx',
  input: Tensor,
  rowsPerCall: number,
  owner: string,
): Promise<Explanation> {
  return translated(() =>
    occlusion(
      async (batch) => {
        const {
          value: [scores],
        } =
          runtime === 'onnx'
            ? await runOnnxVersion(env, info, [batch])
            : await runTfjsVersion(env.ARTIFACTS, info, [batch], owner);
        return scores ? asFloat32(scores.data) : new Float32Array(0);
      },
      { shape: input.shape, data: asFloat32(input.data) },
      { batchSize: Math.min(MAX_ROWS_PER_CALL, rowsPerCall) },
    ),
  );
}

/**
 * The explanation as protocol outputs: `attributions` (FP32, the input's shape) and
 * `attribution_target` (INT32 [N], the class explained per example), with the method and,
 * for integrated gradients, the steps and the largest completeness gap as response parameters.
 *
 * @example
 * body.outputs.push(...explanationOutputs(explanation).outputs);
 */
export function explanationOutputs(explanation: Explanation): { outputs: OipInferOutput[]; parameters: OipParameters } {
  const parameters: OipParameters = { explain_method: explanation.method };
  if ('steps' in explanation && typeof explanation.steps === 'number') parameters.explain_steps = explanation.steps;
  const gaps = explanation.examples.flatMap((e) => ('gap' in e && typeof e.gap === 'number' ? [Math.abs(e.gap)] : []));
  if (gaps.length > 0) parameters.explain_max_completeness_gap = Math.max(...gaps);
  return {
    parameters,
    outputs: [
      {
        name: 'attributions',
        datatype: 'FP32',
        shape: explanation.shape,
        data: Array.from(explanation.attributions),
      },
      {
        name: 'attribution_target',
        datatype: 'INT32',
        shape: [explanation.examples.length],
        data: explanation.examples.map((e) => e.target),
      },
    ],
  };
}
