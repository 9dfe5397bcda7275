import type { Clock } from '../sync/scheduler.ts';

/** At most one automatic look for a round per this long. */
export const CHECK_EVERY_MS = 60_000;

/**
 * When the worker takes part in rounds on its own (init `federated`): after a sync, at most
 * once a minute, and never while a predict is waiting for its answer. `enabled` says whether
 * it may now (the option is on and a tfjs model is loaded); `run` takes part (queued with any
 * other participation) and its failures are dropped: the next sync looks again.
 *
 * @example
 * const auto = new AutoParticipation(clock, { enabled: () => federatedOn, run: () => participateNow() });
 * const result = await auto.around(() => runPredict());
 * auto.synced();
 */
export class AutoParticipation {
  readonly #clock: Clock;
  readonly #enabled: () => boolean;
  readonly #run: () => Promise<unknown>;
  #waiting = 0;
  #lastCheck = Number.NEGATIVE_INFINITY;

  constructor(clock: Clock, hooks: { enabled: () => boolean; run: () => Promise<unknown> }) {
    this.#clock = clock;
    this.#enabled = hooks.enabled;
    this.#run = hooks.run;
  }

  /** Runs a predict, counted as waiting from the call until its answer. */
  async around<T>(predict: () => Promise<T>): Promise<T> {
    this.#waiting++;
    try {
      return await predict();
    } finally {
      this.#waiting--;
    }
  }

  /** A sync succeeded: take part now if enabled, no predict waits and the last look is a minute old. */
  synced(): void {
    if (this.#waiting > 0 || !this.#enabled()) return;
    const now = this.#clock.now();
    if (now - this.#lastCheck < CHECK_EVERY_MS) return;
    this.#lastCheck = now;
    this.#run().catch(() => undefined);
  }
}
