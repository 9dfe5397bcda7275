import { type ExplainWork, GRADIENT_PASSES, units, type Work } from '../../../models/explain/cost.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { chunkRows } from './chunks.ts';

// What an infer request may cost at the edge, in work units (models/explain/cost.ts): the cost
// is checked against a budget per request before the model runs and charged to the caller's
// buckets (http/rate-limit.ts); the work itself is cut into chunks between which the isolate
// serves other requests (chunks.ts).

/**
 * Most work one request may cost, unless EDGELOOP_WORK_PER_REQUEST says otherwise: 1 G. One
 * digit explained at the most steps (256: 0.74 G) or the largest batch of digits (1,337: 0.96 G)
 * fits; 16 digits explained at 256 steps (11.8 G) do not. ≈ 3 s of tfjs-cpu on the bench
 * machine (~360 M units/s forward, less for gradients), served in chunks.
 */
export const DEFAULT_WORK_PER_REQUEST = 1_000_000_000;

/** The most work one request may cost: EDGELOOP_WORK_PER_REQUEST, else the default. */
export function workPerRequest(env: Env): number {
  const n = Number(env.EDGELOOP_WORK_PER_REQUEST);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_WORK_PER_REQUEST;
}

/** What would fit the budget: fewer examples and, for integrated gradients, fewer steps. */
function howToFit(work: Work, budget: number, explain: ExplainWork | null): string {
  const examples = Math.floor(budget / (work.passes * work.perExample));
  const fewer = examples >= 1 ? `send at most ${examples} example${examples === 1 ? '' : 's'} per request` : '';
  if (explain?.method === 'integrated-gradients') {
    const steps = Math.floor((budget / (work.examples * work.perExample) - 3) / GRADIENT_PASSES - 1);
    const fewerSteps = steps >= 1 ? `set explain_steps to at most ${steps} for ${work.examples}` : '';
    const both = [fewer, fewerSteps].filter(Boolean).join(', or ');
    if (both) return both;
  } else if (fewer) {
    return fewer;
  }
  return 'one example of this model costs more than a request may: run it on the device';
}

/**
 * Throws 422 TOO_COSTLY, before anything runs, when a request's work is over `budget`: the
 * message gives the cost, the budget and how to fit.
 *
 * @example
 * checkBudget(info, requestWork(715_396, 16, null), workPerRequest(env), null); // fits: returns
 */
export function checkBudget(info: VersionInfo, work: Work, budget: number, explain: ExplainWork | null): void {
  if (work.total <= budget) return;
  throw new ApiError(
    422,
    ErrorCode.TOO_COSTLY,
    `${info.model} v${info.version}: this request costs ${units(work.total)} work units ` +
      `(${work.examples} example${work.examples === 1 ? '' : 's'} × ${work.passes} passes × ${units(work.perExample)} per pass); ` +
      `one request may cost at most ${units(budget)}: ${howToFit(work, budget, explain)}`,
  );
}

/**
 * Integrated gradients' path points per gradient call: a chunk's worth, a gradient costing
 * GRADIENT_PASSES forward passes.
 *
 * @example
 * gradientRows(715_396); // 1 digit's point per call
 */
export function gradientRows(perExample: number): number {
  return chunkRows(GRADIENT_PASSES * perExample);
}
