interface Entry<M> {
  loading: Promise<{ model: M; bytes: number }>;
  /** Known once loaded. */
  bytes: number | null;
  /** Requests using the model now: it is not evicted under them. */
  users: number;
}

/**
 * Loaded models of this isolate within a byte budget (the size of their files, a fair measure
 * of their weights in memory), least recently used out first. A load in flight is shared, so
 * concurrent requests for a cold model load it once; a failed load is forgotten; a model in use
 * is never disposed under its request.
 *
 * @example
 * const cache = new ModelCache<LayersModel>(64 * 1024 * 1024, (m) => m.dispose());
 * const { value, hit } = await cache.use('digits@3', () => load(), (model) => run(model, inputs));
 */
export class ModelCache<M> {
  readonly #budget: number;
  readonly #dispose: (model: M) => void;
  readonly #entries = new Map<string, Entry<M>>();

  constructor(budget: number, dispose: (model: M) => void) {
    this.#budget = budget;
    this.#dispose = dispose;
  }

  /**
   * Runs `run` on the model under `key`, loading it with `load` (which also gives its size)
   * when absent; `hit` says whether it was loaded already.
   */
  async use<T>(
    key: string,
    load: () => Promise<{ model: M; bytes: number }>,
    run: (model: M) => T | Promise<T>,
  ): Promise<{ value: T; hit: boolean }> {
    let entry = this.#entries.get(key);
    const hit = entry !== undefined;
    if (entry) this.#entries.delete(key);
    else entry = { loading: load(), bytes: null, users: 0 };
    // Most recently used last.
    this.#entries.set(key, entry);
    entry.users++;
    try {
      const { model, bytes } = await entry.loading;
      if (entry.bytes === null) {
        entry.bytes = bytes;
        this.#evict();
      }
      return { value: await run(model), hit };
    } catch (error) {
      if (entry.bytes === null && this.#entries.get(key) === entry) this.#entries.delete(key);
      throw error;
    } finally {
      entry.users--;
    }
  }

  /** Keys of the loaded models, least recently used first. */
  keys(): string[] {
    return [...this.#entries].filter(([, e]) => e.bytes !== null).map(([key]) => key);
  }

  /** Drops loaded models not in use, oldest first, until the budget holds. */
  #evict(): void {
    let total = [...this.#entries.values()].reduce((sum, e) => sum + (e.bytes ?? 0), 0);
    for (const [key, entry] of this.#entries) {
      if (total <= this.#budget) break;
      if (entry.users > 0 || entry.bytes === null) continue;
      this.#entries.delete(key);
      total -= entry.bytes;
      entry.loading.then(
        ({ model }) => this.#dispose(model),
        () => undefined,
      );
    }
  }
}
