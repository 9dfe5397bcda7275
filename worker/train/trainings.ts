/**
 * The trainings running or queued in a worker, so `cancelTraining` can stop them: each gets an
 * AbortSignal its fit checks between epochs.
 *
 * @example
 * const signal = trainings.start();
 * try { await train(signal) } finally { trainings.end(signal) }
 */
export class Trainings {
  readonly #controllers = new Map<AbortSignal, AbortController>();

  start(): AbortSignal {
    const controller = new AbortController();
    this.#controllers.set(controller.signal, controller);
    return controller.signal;
  }

  end(signal: AbortSignal): void {
    this.#controllers.delete(signal);
  }

  cancelAll(): void {
    for (const controller of this.#controllers.values()) controller.abort();
    this.#controllers.clear();
  }
}
