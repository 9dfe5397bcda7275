import { EdgeloopError } from '../../protocol/errors.ts';
import type { BackendName, BackendPreference, BackendReport } from '../../protocol/worker-api.ts';
import type { RuntimeEnv } from '../env.ts';

export interface BackendConfig {
  /** URL (or, in Node, directory) prefix holding tfjs-backend-wasm*.wasm, ending in '/'. */
  wasmPath: string;
}

export type Availability = { ok: true } | { ok: false; reason: string };

/** One way of running tfjs, registered like tfjs's own backends. */
export interface BackendDefinition {
  name: BackendName;
  /** Higher is warmed up first and wins ties. */
  priority: number;
  isAvailable(env: RuntimeEnv): Availability;
  /** Makes this the active tfjs backend (idempotent); throws when it cannot start. */
  setup(config: BackendConfig): Promise<void>;
}

/** Milliseconds per predict of the loaded model on the active backend. */
export type Measure = () => Promise<number>;

/**
 * The backends this worker may run on. `choose('auto', …)` warms up each available one with the
 * loaded model and keeps the fastest (an adapter existing says nothing about speed: SwiftShader's
 * WebGPU is 20–35× slower than wasm on small models); an explicit preference uses that backend or
 * throws BACKEND_UNAVAILABLE, never falling back silently.
 *
 * @example
 * const registry = new BackendRegistry().register(cpuBackend).register(wasmBackend);
 * const report = await registry.choose('auto', env, { wasmPath: '/tfjs/' }, () => timePredicts(model));
 */
export class BackendRegistry {
  readonly #definitions = new Map<BackendName, BackendDefinition>();
  #active: BackendName | null = null;

  register(definition: BackendDefinition): this {
    this.#definitions.set(definition.name, definition);
    return this;
  }

  /** The backend tfjs runs on now, as far as this registry set it. */
  get active(): BackendName | null {
    return this.#active;
  }

  /** Activates one backend by name or throws BACKEND_UNAVAILABLE saying why. */
  async activate(name: BackendName, env: RuntimeEnv, config: BackendConfig): Promise<void> {
    const definition = this.#definitions.get(name);
    if (!definition) throw new EdgeloopError('BACKEND_UNAVAILABLE', `${name}: not registered in this build`);
    const availability = definition.isAvailable(env);
    if (!availability.ok) throw new EdgeloopError('BACKEND_UNAVAILABLE', `${name}: ${availability.reason}`);
    try {
      await definition.setup(config);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new EdgeloopError('BACKEND_UNAVAILABLE', `${name}: failed to start: ${detail}`, { cause: error });
    }
    this.#active = name;
  }

  /** Picks and activates a backend for the loaded model; the report says what ran and why. */
  async choose(
    preference: BackendPreference,
    env: RuntimeEnv,
    config: BackendConfig,
    measure: Measure,
  ): Promise<BackendReport> {
    const warmupMs: Record<string, number> = {};
    const skipped: Record<string, string> = {};
    const adapter = env.webgpu.available ? env.webgpu.adapter : undefined;
    const report = (backend: BackendName): BackendReport => ({
      v: 1,
      backend,
      requested: preference,
      warmupMs,
      skipped,
      ...(adapter ? { adapter } : {}),
    });

    if (preference !== 'auto') {
      await this.activate(preference, env, config);
      warmupMs[preference] = await measure();
      for (const name of this.#definitions.keys()) {
        if (name !== preference) skipped[name] = `not requested (backend '${preference}' was asked for)`;
      }
      return report(preference);
    }

    for (const definition of this.#byPriority()) {
      const { name } = definition;
      try {
        await this.activate(name, env, config);
        warmupMs[name] = await measure();
      } catch (error) {
        skipped[name] = EdgeloopError.from(error).message.replace(`${name}: `, '');
      }
    }
    const fastest = this.#byPriority()
      .map((d) => d.name)
      .filter((name) => warmupMs[name] !== undefined)
      .reduce<BackendName | null>(
        (best, name) => (best === null || ms(warmupMs, name) < ms(warmupMs, best) ? name : best),
        null,
      );
    if (fastest === null) {
      throw new EdgeloopError('BACKEND_UNAVAILABLE', `no backend could run the model: ${JSON.stringify(skipped)}`);
    }
    for (const name of Object.keys(warmupMs)) {
      if (name === fastest) continue;
      skipped[name] =
        `slower: ${round(ms(warmupMs, name))} ms per predict vs ${round(ms(warmupMs, fastest))} ms on ${fastest}`;
    }
    await this.activate(fastest, env, config);
    return report(fastest);
  }

  #byPriority(): BackendDefinition[] {
    return [...this.#definitions.values()].sort((a, b) => b.priority - a.priority);
  }
}

function ms(table: Record<string, number>, name: string): number {
  return table[name] ?? Number.POSITIVE_INFINITY;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
