import { EdgeloopError } from '../../protocol/errors.ts';
import type { SyncResult, SyncState, SyncTrigger } from '../../protocol/worker-api.ts';
import { backoffMs, isRetryable, retryAfterMs } from './retry.ts';

/** Time as the scheduler sees it; tests pass a manual clock (worker/test/clock.ts). */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** While events are pending and nothing failed, a sync is tried this often. */
export const PERIODIC_SYNC_MS = 60_000;

/**
 * Decides when syncs run: now for the page's calls and triggers (online, page hide, Background
 * Sync), on a timer while events are pending, and after a retryable failure with exponential
 * backoff and full jitter (retry.ts), never before a Retry-After. A failure that is not
 * retryable stops the automatic syncs until the next trigger; its error stays in `lastError`.
 *
 * @example
 * const scheduler = new SyncScheduler((trigger) => runSync(trigger), { clock: systemClock, random: Math.random });
 * scheduler.request('online'); // fire and forget
 * await scheduler.run('manual'); // the page's sync(): throws what the sync threw
 */
export class SyncScheduler {
  readonly #sync: (trigger: SyncTrigger) => Promise<SyncResult>;
  readonly #clock: Clock;
  readonly #random: () => number;
  #state: SyncState = { state: 'idle', attempts: 0 };
  #timer: unknown = null;
  /** No sync before this time (the edge's Retry-After), whatever the trigger. */
  #notBefore = 0;
  #running: Promise<unknown> = Promise.resolve();
  #disposed = false;
  #lastWasRetryable = true;

  constructor(sync: (trigger: SyncTrigger) => Promise<SyncResult>, deps: { clock: Clock; random: () => number }) {
    this.#sync = sync;
    this.#clock = deps.clock;
    this.#random = deps.random;
  }

  /** Runs a sync now and updates the state from its outcome; rejects with the sync's error. */
  async run(trigger: SyncTrigger): Promise<SyncResult> {
    this.#cancelTimer();
    const { nextRetryAt: _dropped, ...rest } = this.#state;
    this.#state = { ...rest, state: 'syncing' };
    const attempt = this.#sync(trigger).then(
      (result) => this.#succeeded(result),
      (error: unknown) => this.#failed(error),
    );
    this.#running = attempt.catch(() => undefined);
    return attempt;
  }

  /** Asks for a sync without waiting or failing; skipped while a Retry-After is in force. */
  request(trigger: SyncTrigger): void {
    if (this.#disposed || this.#clock.now() < this.#notBefore) return;
    this.run(trigger).catch(() => undefined);
  }

  /** Events were recorded: make sure a periodic sync is coming (unless a retry is already). */
  notePending(): void {
    if (this.#disposed || this.#timer !== null || this.#state.state === 'syncing') return;
    // After a failure that is not retryable (SEQ_GAP, a revoked client) only a trigger syncs again.
    if (!this.#lastWasRetryable) return;
    this.#schedule(PERIODIC_SYNC_MS, 'timer');
  }

  snapshot(): SyncState {
    return { ...this.#state };
  }

  /** Resolves when the sync in flight (if any) has ended. */
  settled(): Promise<unknown> {
    return this.#running;
  }

  dispose(): void {
    this.#disposed = true;
    this.#cancelTimer();
  }

  #succeeded(result: SyncResult): SyncResult {
    this.#notBefore = 0;
    this.#lastWasRetryable = true;
    const { lastError } = this.#state;
    this.#state = { state: result.otherTab ? 'other-tab' : 'idle', attempts: 0, ...(lastError ? { lastError } : {}) };
    // Another tab syncing, or events recorded meanwhile: look again later.
    if (result.otherTab || result.pending > 0) this.#schedule(PERIODIC_SYNC_MS, 'timer');
    return result;
  }

  #failed(error: unknown): never {
    const e = EdgeloopError.from(error);
    const now = this.#clock.now();
    const attempts = this.#state.attempts + 1;
    const lastError = { code: e.code, message: e.message, at: now };
    this.#lastWasRetryable = isRetryable(error);
    if (!this.#lastWasRetryable) {
      this.#state = { state: 'idle', attempts, lastError };
      throw error;
    }
    const retryAfter = retryAfterMs(error, now);
    this.#notBefore = retryAfter === null ? 0 : now + retryAfter;
    const delay = backoffMs(attempts, this.#random, retryAfter);
    this.#state = { state: 'waiting', attempts, lastError, nextRetryAt: now + delay };
    this.#schedule(delay, 'retry');
    throw error;
  }

  #schedule(ms: number, trigger: SyncTrigger): void {
    if (this.#disposed) return;
    this.#cancelTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.run(trigger).catch(() => undefined);
    }, ms);
  }

  #cancelTimer(): void {
    if (this.#timer === null) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
