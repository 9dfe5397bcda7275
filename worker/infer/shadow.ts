import { argmax } from '../../protocol/argmax.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { PredictionEvent } from '../../protocol/events.ts';
import { asFloat32, type Tensor } from '../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../protocol/registry.ts';
import type { LoadResult, WorkerStatus } from '../../protocol/worker-api.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { buildGraph, buildModel } from './model-artifacts.ts';
import { createOnnxSession, importOrt } from './onnx.ts';
import { predictOnly } from './predict-only.ts';
import { type Runnable, runFeeds, type Signature } from './run-model.ts';
import { fetchOnnxFile, fetchVersionFiles, fetchVersionInfo } from './version-files.ts';

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
 * one, is fetched with the same digest checks and cache as the main model and built on its own
 * format's runtime (buildShadow). Never throws: a shadow that cannot load, or that reads other
 * inputs or names other classes than the served version, is reported, and the worker serves
 * without it.
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
    const misfit = signatureMisfit(main.signature, known.manifest);
    if (misfit)
      throw new EdgeloopError(
        'INVALID_MANIFEST',
        `shadow v${version} takes ${misfit(known.manifest)}; v${main.version} takes ${misfit(main.signature)}`,
      );
    const runnable = await buildShadow(runtime, main, known);
    runtime.shadow = { version, ...runnable, predictions: 0, agreements: 0 };
    return { version, loaded: true };
  } catch (error) {
    return { version, loaded: false, reason: String(EdgeloopError.from(error)) };
  }
}

/**
 * Whether a shadow's signature can be compared with the served one's: the same inputs (dtype and
 * shape, in order; names may differ, as an ONNX export's do) and a first output of as many
 * classes. Null when it can; else a function describing a signature, for the message.
 */
function signatureMisfit(main: Signature, shadow: Signature): ((s: Signature) => string) | null {
  const inputs = (s: Signature) =>
    s.inputs.map((i) => `[${i.shape.slice(1)}]${i.dtype === 'float32' ? '' : ` ${i.dtype}`}`).join(', ');
  const classes = (s: Signature) => s.outputs[0]?.shape.at(-1);
  if (inputs(main) === inputs(shadow) && classes(main) === classes(shadow)) return null;
  return (s) => `${inputs(s)} → ${classes(s)} classes`;
}

/**
 * Builds a shadow on its format's runtime, as the main model is built: an ONNX version (or any,
 * with init `runtime: 'onnx'`) on ONNX Runtime, on the served model's execution provider when
 * that runs on ORT and wasm otherwise; a tfjs version on the active tfjs backend (beside a model
 * on ORT none may be active: wasm, else cpu, is started for it).
 */
async function buildShadow(runtime: Runtime, main: LoadedModel, info: VersionInfo): Promise<Runnable> {
  const { manifest, version } = info;
  if (manifest.format === 'onnx' || runtime.options.runtime === 'onnx') {
    const { bytes } = await fetchOnnxFile(runtime, main.name, version, info);
    const provider = main.onnx?.provider ?? 'wasm';
    const session = await createOnnxSession(await importOrt(provider, runtime.env), bytes, provider, runtime.env);
    const model = predictOnly(`shadow v${version} runs on ONNX Runtime`, () => {
      session.release().catch(() => undefined);
    });
    return { model, onnx: session, inputShape: session.inputShape, signature: manifest };
  }
  if (runtime.backends.active === null) {
    await runtime.backends
      .activate('wasm', runtime.env, runtime.backendConfig)
      .catch(() => runtime.backends.activate('cpu', runtime.env, runtime.backendConfig));
  }
  const { modelJson, shards } = await fetchVersionFiles(runtime, main.name, version, info);
  if (manifest.format === 'tfjs-graph') {
    const graph = await buildGraph(modelJson, shards);
    const model = predictOnly(`shadow v${version} is a tfjs-graph model`, () => graph.dispose());
    return { model, graph, inputShape: main.inputShape, signature: manifest };
  }
  const model = await buildModel(modelJson, shards);
  const inputShape = model.inputs[0]?.shape.slice(1) ?? [];
  const classes = model.outputs[0]?.shape.at(-1);
  // The manifest said it fits; a layers model's own shapes must agree (its file could say otherwise).
  if (inputShape.join() !== main.inputShape.join() || classes !== main.classes) {
    model.dispose();
    throw new EdgeloopError(
      'INVALID_MANIFEST',
      `shadow v${version} takes [${inputShape}] → ${classes} classes; v${main.version} takes [${main.inputShape}] → ${main.classes}`,
    );
  }
  return { model, inputShape: main.inputShape, signature: manifest };
}

/**
 * Runs the shadow on the feeds the served model just answered and compares labels (the first
 * output's top class). Returns undefined when there is no shadow or it failed: the shadow must
 * never change or fail a predict.
 *
 * @example
 * const shadow = await runShadow(runtime.shadow, feeds, label); // { version: 4, label: 7, agree: true }
 */
export async function runShadow(
  shadow: ShadowModel | null,
  feeds: Tensor[],
  label: number,
): Promise<ShadowOutcome | undefined> {
  if (!shadow) return undefined;
  try {
    const [first] = await runFeeds(shadow, feeds);
    const shadowLabel = argmax(asFloat32(first?.data ?? new Float32Array()));
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
