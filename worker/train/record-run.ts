import { EdgeloopError } from '../../protocol/errors.ts';
import { LoggedMetrics, type MetricPoint, type Params, Run, type Tags } from '../../protocol/runs.ts';
import type { BackendName } from '../../protocol/worker-api.ts';
import type { EdgeClient } from '../edge-client.ts';

/**
 * How long one run call may take before recording gives up. Training never waits on the edge
 * beyond this: a hung connection must not keep the model (and every predict queued behind the
 * training) locked.
 */
export const RUN_CALL_TIMEOUT_MS = 5000;

/** What the run is created with: params are set once, at creation (the edge's rule). */
export interface RunStart {
  model: string;
  version: number;
  clientId: string;
  params: Params;
}

/** The summary of a fine-tune that finished, logged as metrics at step 0 and tags. */
export interface RunOutcome {
  /** Names the scores: accuracy, or RMSE for regression (absent: classification). */
  task?: 'classification' | 'regression';
  holdoutBefore: number;
  holdoutAfter: number;
  feedbackBefore: number;
  feedbackAfter: number;
  durationMs: number;
  backend: BackendName;
  applied: boolean;
}

/** What became of the recording: `runId` when the edge created the run, `runError` when anything failed. */
export interface RunRecord {
  runId?: string;
  runError?: string;
}

type Created = { id: string } | { error: string };

/**
 * Records one training as an experiment run on the edge (`/v1/runs`). Creation starts at once
 * and runs alongside training; epoch losses are only collected (no request per epoch) and go out
 * in one request at the end, followed by the status. No method throws: a failed recording is
 * reported in the returned `RunRecord`, never as a failed training.
 *
 * @example
 * const run = new RunRecorder(runtime.edge, { model: 'digits', version: 3, clientId, params: { epochs: 5 } });
 * run.epoch(1, 0.42);
 * const { runId, runError } = await run.finish(outcome);
 */
export class RunRecorder {
  readonly #edge: EdgeClient;
  readonly #timeoutMs: number;
  readonly #created: Promise<Created>;
  /** Loss by epoch, with when it was measured: a retried epoch (cpu fallback) replaces its point. */
  readonly #losses = new Map<number, MetricPoint>();

  constructor(edge: EdgeClient, start: RunStart, timeoutMs = RUN_CALL_TIMEOUT_MS) {
    this.#edge = edge;
    this.#timeoutMs = timeoutMs;
    const body = {
      v: 1,
      model: start.model,
      name: `fine-tune ${start.model} v${start.version} on ${start.clientId}`,
      params: start.params,
      tags: { client: start.clientId, kind: 'on-device-fine-tune' },
      parentVersion: start.version,
    };
    this.#created = this.#call('/v1/runs', this.#edge.json('/v1/runs', Run, body)).then(
      (run) => ({ id: run.id }),
      (error: unknown) => ({ error: errorText(error) }),
    );
  }

  /** Notes an epoch's loss; a loss that is not finite (diverged) is left out, as the edge refuses it. */
  epoch(epoch: number, loss: number): void {
    if (Number.isFinite(loss)) this.#losses.set(epoch, { key: 'loss', value: loss, step: epoch, ts: Date.now() });
  }

  /** Sends the losses and final metrics, then ends the run `finished`. */
  async finish(outcome: RunOutcome): Promise<RunRecord> {
    const created = await this.#created;
    if ('error' in created) return { runError: `run not recorded: ${created.error}` };
    const ts = Date.now();
    const score = outcome.task === 'regression' ? 'rmse' : 'accuracy';
    const final: [string, number][] = [
      [`holdout_${score}_before`, outcome.holdoutBefore],
      [`holdout_${score}_after`, outcome.holdoutAfter],
      [`feedback_${score}_before`, outcome.feedbackBefore],
      [`feedback_${score}_after`, outcome.feedbackAfter],
      ['duration_ms', Math.round(outcome.durationMs)],
    ];
    const metrics = [...this.#losses.values(), ...final.map(([key, value]) => ({ key, value, step: 0, ts }))];
    const tags = { trained_backend: outcome.backend, applied: String(outcome.applied) };
    try {
      await this.#end(created.id, metrics, 'finished', tags);
      return { runId: created.id };
    } catch (error) {
      return { runId: created.id, runError: `run ${created.id} not fully recorded: ${errorText(error)}` };
    }
  }

  /** Sends the losses measured so far and ends the run `failed`, naming the error. */
  async fail(cause: unknown): Promise<RunRecord> {
    const created = await this.#created;
    if ('error' in created) return { runError: `run not recorded: ${created.error}` };
    try {
      await this.#end(created.id, [...this.#losses.values()], 'failed', { error: errorText(cause).slice(0, 5000) });
      return { runId: created.id };
    } catch (error) {
      return { runId: created.id, runError: `run ${created.id} not fully recorded: ${errorText(error)}` };
    }
  }

  async #end(id: string, metrics: MetricPoint[], status: 'finished' | 'failed', tags: Tags): Promise<void> {
    const path = `/v1/runs/${encodeURIComponent(id)}`;
    if (metrics.length > 0) {
      await this.#call(`${path}/metrics`, this.#edge.json(`${path}/metrics`, LoggedMetrics, { v: 1, metrics }));
    }
    await this.#call(path, this.#edge.json(path, Run, { v: 1, status, tags }, 'PATCH'));
  }

  /** The call's reply, or NETWORK once the timeout passes (the request itself is left to settle). */
  #call<T>(path: string, request: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EdgeloopError('NETWORK', `${path}: no reply within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    return Promise.race([request, timeout]).finally(() => clearTimeout(timer));
  }
}

/** A failure as one line: `[CODE] message` for ours, the message for any other error. */
function errorText(error: unknown): string {
  return error instanceof Error && !(error instanceof EdgeloopError) ? error.message : String(error);
}
