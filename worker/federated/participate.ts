import { EdgeloopError } from '../../protocol/errors.ts';
import type { ParticipateResult } from '../../protocol/participate.ts';
import type { UpdateRow } from '../db.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { ensureIdentity } from '../sync/identity.ts';
import { lineageVersions, userExamples } from '../train/examples.ts';
import { baseInfo, roundBase, type Step } from './base.ts';
import { clipDelta, float32Bytes, weightDelta, weightLayout } from './delta.ts';
import { evaluateIfAsked } from './evaluate.ts';
import { holdOut } from './held-out.ts';
import { fitRoundHead } from './local-fit.ts';
import { currentRound } from './round.ts';
import { findUpdate, storeUpdate, updateId } from './updates.ts';

export interface ParticipateContext {
  /** The worker's model queue: each stage of the fit runs as one task, predictions queued meanwhile between them. */
  modelTask: Step;
  /** Aborted by cancelTraining() or dispose: the fit stops with CANCELLED and nothing is stored. */
  signal: AbortSignal;
  /** Runs a sync now (the scheduler's: a failure worth retrying is retried later), which sends the update. */
  sync: () => Promise<unknown>;
}

/**
 * Takes part in the open round of the loaded model (README.md in this folder): registers if
 * need be and asks for the round. When the edge asks for this device's held-out evaluation of
 * a gating round, that comes first (`evaluated`; the next call trains). Then: `no-round` when
 * none is open; skips a round this database already trained for (`already`: never two
 * updates); gathers the labelled examples of the base's lineage (`not-enough-examples` below
 * the round's `minExamples`), holds a fifth of them out (from 10 on), fine-tunes the base's
 * head on the rest with the round's epochs and learning rate, lays out fine-tuned − base over
 * model.json's weights (`mismatch` when that is not the round's weights file), clips it to the
 * round's `clipNorm`, stores it in IndexedDB and only then runs a sync, which sends it. The
 * result's status is the stored update's state after that sync: `sent`, `pending` (retried by
 * later syncs) or `rejected`.
 *
 * @example
 * const result = await participate(runtime, runtime.loaded, { modelTask, signal, sync: () => scheduler.run('manual') });
 */
export async function participate(
  runtime: Runtime,
  loaded: LoadedModel,
  context: ParticipateContext,
): Promise<ParticipateResult> {
  const start = performance.now();
  const model = loaded.name;
  await ensureIdentity(runtime);
  const current = await currentRound(runtime, model);
  const step = guardedStep(runtime, loaded, context);
  const evaluated = await evaluateIfAsked(runtime, loaded, current.evaluate, step);
  if (evaluated) return evaluated;
  const { round } = current;
  if (!round) return { v: 1, status: 'no-round', model };
  const earlier = await findUpdate(runtime.db, model, round.id);
  if (earlier) return already(earlier);
  const mismatch = (reason: string): ParticipateResult => ({
    v: 1,
    status: 'mismatch',
    model,
    roundId: round.id,
    reason,
  });
  const info = await baseInfo(runtime, loaded, round.baseVersion);
  const file = info.files.find((f) => f.path === round.weights.path);
  if (file?.sha256 !== round.weights.sha256) {
    return mismatch(`${model} v${info.version} has no ${round.weights.path} with sha256 ${round.weights.sha256}`);
  }
  const all = await userExamples(runtime, loaded, lineageVersions({ ...loaded, version: info.version, info }));
  if (all.count < round.minExamples) {
    return {
      v: 1,
      status: 'not-enough-examples',
      model,
      roundId: round.id,
      examples: all.count,
      needed: round.minExamples,
    };
  }
  const { train: examples, heldOut } = holdOut(all, round.id);
  const base = await roundBase(runtime, loaded, info, step);
  let delta: Float32Array | string;
  try {
    if (base.model.inputSize !== loaded.inputSize) {
      return mismatch(
        `v${info.version} takes ${base.model.inputSize} input values, the loaded v${loaded.version} ${loaded.inputSize}`,
      );
    }
    const layout = weightLayout(base.modelJson);
    if (layout.values !== round.weights.values) {
      return mismatch(
        `v${info.version}'s model.json lists ${layout.values} weight values, the round ${round.weights.values}`,
      );
    }
    const settings = {
      epochs: round.localEpochs,
      learningRate: round.learningRate,
      seed: `round:${round.id}:${examples.ids.join(',')}`,
      signal: context.signal,
    };
    delta = weightDelta(layout, await fitRoundHead(runtime, base.model, examples, settings, step));
  } finally {
    base.release();
  }
  if (typeof delta === 'string') return mismatch(delta);
  const { norm, clipped } = clipDelta(delta, round.clipNorm);
  const bytes = float32Bytes(delta);
  const row: UpdateRow = {
    id: updateId(model, round.id),
    model,
    roundId: round.id,
    baseVersion: info.version,
    bytes: bytes.buffer,
    examples: examples.count,
    norm,
    clipNorm: round.clipNorm,
    clipped,
    state: 'pending',
    createdAt: Date.now(),
    heldOut,
  };
  const stored = await storeUpdate(runtime.db, row);
  if (stored !== row) return already(stored);
  const error = await context.sync().then(
    () => null,
    (e: unknown) => EdgeloopError.from(e),
  );
  const after = (await findUpdate(runtime.db, model, round.id)) ?? row;
  return {
    v: 1,
    status: after.state,
    model,
    roundId: round.id,
    baseVersion: info.version,
    examples: examples.count,
    norm,
    clipNorm: round.clipNorm,
    clipped,
    bytes: bytes.byteLength,
    durationMs: performance.now() - start,
    ...(after.duplicate !== undefined ? { duplicate: after.duplicate } : {}),
    ...(after.rejection ? { rejection: after.rejection } : {}),
    ...(after.state === 'pending' && error ? { error: { code: error.code, message: error.message } } : {}),
  };
}

function already(row: UpdateRow): ParticipateResult {
  return { v: 1, status: 'already', model: row.model, roundId: row.roundId, state: row.state };
}

/**
 * A stage of the fit in the model queue, refused with CANCELLED once the participation was
 * cancelled or another model or backend took over since it started (its features would be stale).
 */
function guardedStep(runtime: Runtime, loaded: LoadedModel, context: ParticipateContext): Step {
  const backend = runtime.backends.active;
  return (work) =>
    context.modelTask(async () => {
      if (context.signal.aborted) throw new EdgeloopError('CANCELLED', 'participation cancelled; nothing was stored');
      if (runtime.loaded !== loaded || runtime.backends.active !== backend) {
        throw new EdgeloopError(
          'CANCELLED',
          'another model or backend was loaded while taking part in the round; nothing was stored',
        );
      }
      return work();
    });
}
