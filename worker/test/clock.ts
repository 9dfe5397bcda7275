import type { Clock } from '../sync/scheduler.ts';

/**
 * A clock that moves only when told: timers fire inside `advance`, in due order. Keeps unit
 * tests free of real timers.
 *
 * @example
 * const clock = manualClock(1_000);
 * clock.setTimeout(() => console.log('due'), 500);
 * clock.advance(500); // logs "due"
 */
export function manualClock(start = 1_700_000_000_000) {
  let now = start;
  let next = 0;
  const timers = new Map<number, { at: number; run: () => void }>();
  const clock: Clock & { advance(ms: number): void; pending(): number[] } = {
    now: () => now,
    setTimeout(run, ms) {
      const id = ++next;
      timers.set(id, { at: now + ms, run });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].run();
      }
      now = end;
    },
    /** When the timers set are due, soonest first. */
    pending: () => [...timers.values()].map((t) => t.at).sort((a, b) => a - b),
  };
  return clock;
}
