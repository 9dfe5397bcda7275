import type { BenchmarkResult } from '../protocol/worker-api.ts';
import { servingBackend, timePredicts } from './infer/run-model.ts';
import type { LoadedModel, Runtime } from './runtime.ts';

/**
 * Mean milliseconds per predict calling tfjs directly inside the worker (no comlink, no
 * IndexedDB): the baseline the SDK→worker benchmark compares against.
 *
 * @example
 * const { directMs } = await benchmark(runtime, loaded, 200);
 */
export async function benchmark(runtime: Runtime, loaded: LoadedModel, iterations: number): Promise<BenchmarkResult> {
  const directMs = await timePredicts(loaded, iterations);
  return { v: 1, backend: servingBackend(runtime.backends, loaded), iterations, directMs };
}
