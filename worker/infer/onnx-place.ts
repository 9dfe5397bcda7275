import type * as tfl from '@tensorflow/tfjs-layers';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { VersionInfo } from '../../protocol/registry.ts';
import type { BackendName, BackendPreference, BackendReport } from '../../protocol/worker-api.ts';
import type { RuntimeEnv } from '../env.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { createOnnxSession, importOrt, type OnnxProvider, type OnnxSession } from './onnx.ts';
import { servedFacts } from './place-model.ts';
import { predictOnly } from './predict-only.ts';
import { timePredicts } from './run-model.ts';
import { fetchOnnxFile } from './version-files.ts';

/** Warm-up predicts per execution provider, as for tfjs's backends (place-model.ts). */
const WARMUP_RUNS = 5;

const NAME: Record<OnnxProvider, BackendName> = { webgpu: 'onnx-webgpu', wasm: 'onnx-wasm' };

/**
 * Loads a version's ONNX file (an ONNX version's model, or with init `runtime: 'onnx'` a tfjs
 * version's export): downloads and verifies it like any model file, then picks ORT's execution provider the way tfjs's backends are picked:
 * `auto` warms up WebGPU (where an adapter exists) and wasm and keeps the faster, saying why the
 * other was not used (unavailable, failed to start, slower); `webgpu` uses WebGPU or throws
 * BACKEND_UNAVAILABLE; `wasm` and `cpu` use the wasm EP (ORT's CPU kernels). The result's
 * `model` is a stand-in: calls that need a tfjs layers model (train, explain) are refused.
 *
 * @example
 * const { loaded, cached } = await loadOnnxVersion(runtime, 'digits', 3, 'production');
 * loaded.backend.backend; // 'onnx-wasm', with skipped['onnx-webgpu'] saying why not WebGPU
 */
export async function loadOnnxVersion(
  runtime: Runtime,
  model: string,
  version: number,
  alias: string,
  known?: VersionInfo,
): Promise<{ loaded: LoadedModel; cached: number }> {
  const preference = runtime.options.backend;
  const { env } = runtime;
  // Before downloading: a backend that cannot run fails the load at once.
  const providers = providersFor(preference, env);
  const { info, bytes, cached } = await fetchOnnxFile(runtime, model, version, known);

  const warmupMs: Record<string, number> = {};
  const skipped: Record<string, string> = {};
  if (!providers.includes('webgpu')) skipped[NAME.webgpu] = webgpuSkipReason(preference, env);
  if (!providers.includes('wasm')) skipped[NAME.wasm] = `not requested (backend '${preference}' was asked for)`;
  const sessions = new Map<OnnxProvider, OnnxSession>();
  let lastError: unknown = null;
  for (const provider of providers) {
    let session: OnnxSession | null = null;
    try {
      // wasm runs in the WebGPU build when that one worked, sparing a second download.
      const ort = await importOrt(provider === 'webgpu' || sessions.has('webgpu') ? 'webgpu' : 'wasm', env);
      session = await createOnnxSession(ort, bytes, provider, env);
      const runnable = {
        model: standIn(session, info),
        inputShape: session.inputShape,
        signature: info.manifest,
        onnx: session,
      };
      warmupMs[NAME[provider]] = await timePredicts(runnable, WARMUP_RUNS);
      sessions.set(provider, session);
    } catch (error) {
      // A session that was created but cannot predict is released before anything else.
      await session?.release().catch(() => undefined);
      lastError = error;
      if (providers.length === 1) throw error;
      skipped[NAME[provider]] = `failed: ${EdgeloopError.from(error).message}`;
    }
  }
  const chosen = fastest(warmupMs);
  for (const [provider, session] of sessions) {
    if (provider === chosen) continue;
    await session.release();
    if (chosen) skipped[NAME[provider]] = slower(warmupMs, NAME[provider], NAME[chosen]);
  }
  const session = chosen && sessions.get(chosen);
  if (!session) throw lastError;
  const backend: BackendReport = {
    v: 1,
    backend: NAME[session.provider],
    requested: preference,
    warmupMs,
    skipped,
    ...(env.webgpu.available ? { adapter: env.webgpu.adapter } : {}),
  };
  return { loaded: onnxModel(session, info, alias, backend), cached };
}

/** The EPs to try, in order: WebGPU only where it can start and the preference allows it. */
function providersFor(preference: BackendPreference, env: RuntimeEnv): OnnxProvider[] {
  const webgpu = webgpuUnavailable(env);
  if (preference === 'webgpu') {
    if (webgpu) throw new EdgeloopError('BACKEND_UNAVAILABLE', `onnx-webgpu: ${webgpu}`);
    return ['webgpu'];
  }
  if (preference === 'auto' && !webgpu) return ['webgpu', 'wasm'];
  if (!env.wasm.available) throw new EdgeloopError('BACKEND_UNAVAILABLE', 'onnx-wasm: WebAssembly is not available');
  return ['wasm'];
}

/** Why ORT's WebGPU EP cannot run here, or null when it may. */
function webgpuUnavailable(env: RuntimeEnv): string | null {
  if (!env.webgpu.available) return env.webgpu.reason;
  return env.jspi ? null : "ORT's WebGPU build needs WebAssembly JSPI (WebAssembly.Suspending), which is missing";
}

function webgpuSkipReason(preference: BackendPreference, env: RuntimeEnv): string {
  if (preference !== 'auto') return `not requested (backend '${preference}' was asked for)`;
  return webgpuUnavailable(env) ?? 'not tried';
}

function fastest(warmupMs: Record<string, number>): OnnxProvider | null {
  const timed = (['webgpu', 'wasm'] as const).filter((p) => warmupMs[NAME[p]] !== undefined);
  // On a tie WebGPU wins, as the tfjs registry's priority order does.
  return timed.reduce<OnnxProvider | null>(
    (best, p) => (best === null || ms(warmupMs, NAME[p]) < ms(warmupMs, NAME[best]) ? p : best),
    null,
  );
}

function slower(warmupMs: Record<string, number>, name: string, winner: string): string {
  return `slower: ${round(ms(warmupMs, name))} ms per predict vs ${round(ms(warmupMs, winner))} ms on ${winner}`;
}

function ms(table: Record<string, number>, name: string): number {
  return table[name] ?? Number.POSITIVE_INFINITY;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function onnxModel(session: OnnxSession, info: VersionInfo, alias: string, backend: BackendReport): LoadedModel {
  const parts = {
    model: standIn(session, info),
    onnx: session,
    signature: info.manifest,
    inputShape: session.inputShape,
    classes: session.classes,
  };
  return { ...servedFacts(info, alias, parts), backend };
}

/** The stand-in for the tfjs model: disposing it releases the session (ORT releases async; a failed release must not fail the load that replaced it). */
function standIn(session: OnnxSession, info: VersionInfo): tfl.LayersModel {
  const why =
    info.manifest.format === 'onnx'
      ? `${info.model} v${info.version} is an ONNX model`
      : `the model runs on ONNX Runtime (init runtime 'onnx'; init with runtime 'tfjs' to train or explain)`;
  return predictOnly(why, () => {
    session.release().catch(() => undefined);
  });
}
