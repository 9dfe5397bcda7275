import { EdgeloopError } from '../../protocol/errors.ts';
import type { PredictionEvent } from '../../protocol/events.ts';
import type { LoadResult, WorkerStatus } from '../../protocol/worker-api.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { buildModel } from './model-artifacts.ts';
import { argmax, type Runnable, runModel } from './run-model.ts';
import { fetchVersionFiles, fetchVersionInfo } from './version-files.ts';

/** The rollout's shadow version, run beside the served model; counts are since it was loaded. */
export interface ShadowModel extends Runnable {
  version: number;
  predictions: number;
  agreements: number;
}

/** What one shadow run records with the prediction. */
export type ShadowOutcome = NonNullable<PredictionEvent['shadow']>;

/**
 * Replaces the shadow after a successful main load: the old one is disposed whatever comes next
 * (its counts compared it with the previous main model), then `version`, if the edge assigned
 * one, is fetched with the same digest checks and cache as the main model and built on the
 * backend the main model chose. Never throws: a shadow that cannot load is reported, and the
 * worker serves without it.
 *
 * @example
 * const shadow = await loadShadow(runtime, runtime.loaded, resolution.shadow);
 * // { version: 4, loaded: false, reason: '[DIGEST_MISMATCH] …' }
 */
export async function loadShadow(
  runtime: Runtime,
  main: LoadedModel,
  version: number | undefined,
): Promise<LoadResult['shadow']> {
  disposeShadow(runtime);
  if (version === undefined) return undefined;
  try {
    const known = await fetchVersionInfo(runtime, main.name, version);
    // Shadows compare layers models' labels on the tfjs backend the main model chose.
    if (known.manifest.format !== 'tfjs-layers' || main.graph || main.onnx) {
      throw new EdgeloopError(
        'UNSUPPORTED_MODEL',
        `shadow v${version} (${known.manifest.format}) beside v${main.version} (${main.info.manifest.format}): a shadow runs only a tfjs-layers version beside another on tfjs`,
      );
    }
    const { modelJson, shards } = await fetchVersionFiles(runtime, main.name, version, known);
    const model = await buildModel(modelJson, shards);
    const inputShape = model.inputs[0]?.shape.slice(1) ?? [];
    const classes = model.outputs[0]?.shape.at(-1);
    // Comparing labels only means something when both models read the same input and name the same classes.
    if (inputShape.join() !== main.inputShape.join() || classes !== main.classes) {
      model.dispose();
      throw new EdgeloopError(
        'INVALID_MANIFEST',
        `shadow v${version} takes [${inputShape}] → ${classes} classes; v${main.version} takes [${main.inputShape}] → ${main.classes}`,
      );
    }
    runtime.shadow = {
      version,
      model,
      inputShape: main.inputShape,
      signature: known.manifest,
      predictions: 0,
      agreements: 0,
    };
    return { version, loaded: true };
  } catch (error) {
    return { version, loaded: false, reason: EdgeloopError.from(error).message };
  }
}

/**
 * Runs the shadow on the input the served model just answered and compares labels. Returns
 * undefined when there is no shadow or it failed: the shadow must never change or fail a predict.
 *
 * @example
 * const shadow = await runShadow(runtime.shadow, pixels, label); // { version: 4, label: 7, agree: true }
 */
export async function runShadow(
  shadow: ShadowModel | null,
  input: Float32Array,
  label: number,
): Promise<ShadowOutcome | undefined> {
  if (!shadow) return undefined;
  try {
    const shadowLabel = argmax(await runModel(shadow, input));
    return { version: shadow.version, label: shadowLabel, agree: shadowLabel === label };
  } catch {
    // Deliberately swallowed: the caller's result must be the same with or without a shadow.
    return undefined;
  }
}

/** Counts a recorded shadow outcome (call once the prediction is stored). */
export function countShadow(shadow: ShadowModel | null, outcome: ShadowOutcome | undefined): void {
  if (!shadow || !outcome || outcome.version !== shadow.version) return;
  shadow.predictions++;
  if (outcome.agree) shadow.agreements++;
}

/** The status summary of the shadow, if one is loaded. */
export function shadowStatus(shadow: ShadowModel | null): WorkerStatus['shadow'] {
  if (!shadow) return undefined;
  return { version: shadow.version, predictions: shadow.predictions, agreements: shadow.agreements };
}

/** Frees the shadow's weights and forgets it. */
export function disposeShadow(runtime: Pick<Runtime, 'shadow'>): void {
  runtime.shadow?.model.dispose();
  runtime.shadow = null;
}
