/**
 * Lets the isolate serve what is waiting (requests, I/O, other tasks' turns) first: a timer, not
 * a resolved promise, since microtasks run before the event loop takes anything else.
 */
const yieldToEventLoop = (): Promise<void> => scheduler.wait(0);

/** A task not seen for this long is taken for gone (its request cancelled): it counts no more. */
const STALE_MS = 2000;

interface Task {
  owner: string;
  seen: number;
}

/**
 * The isolate's CPU for model work, shared by owner (a client, an address): a task (one
 * request's model work) awaits its turn before each chunk, and a turn lets the event loop run
 * once per task its owner has in flight. One owner's eight concurrent requests then take about
 * one chunk per round of the event loop between them, as one request of another owner does, and
 * a request that needs no model (/healthz) waits about one round.
 *
 * Each task waits on timers of its own request only: nothing is handed from one request to
 * another, so a request cancelled while it waits (its client gone) blocks nobody.
 */
export class Lane {
  readonly #tasks = new Map<symbol, Task>();

  /** Tasks of `owner` seen lately; forgets the others. */
  #inFlight(owner: string, now: number): number {
    let n = 0;
    for (const [id, task] of this.#tasks) {
      if (now - task.seen > STALE_MS) this.#tasks.delete(id);
      else if (task.owner === owner) n++;
    }
    return n;
  }

  /**
   * Runs `work` as a task of `owner`; `work` awaits `turn()` before each chunk it runs.
   *
   * @example
   * await lane.within('client:c_1', async (turn) => { for (const c of chunks) { await turn(); run(c); } });
   */
  async within<T>(owner: string, work: (turn: () => Promise<void>) => Promise<T>): Promise<T> {
    const id = Symbol(owner);
    const task = { owner, seen: Date.now() };
    this.#tasks.set(id, task);
    const turn = async () => {
      for (let i = this.#inFlight(owner, Date.now()); i > 0; i--) {
        await yieldToEventLoop();
        task.seen = Date.now();
        this.#tasks.set(id, task);
      }
    };
    try {
      return await work(turn);
    } finally {
      this.#tasks.delete(id);
    }
  }
}

/** This isolate's lane, for tfjs work (ONNX work runs in the ORT Worker). */
export const lane = new Lane();
