import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { SyncResult, SyncTrigger } from '../../protocol/worker-api.ts';
import { HttpFailure } from '../edge-client.ts';
import { manualClock } from '../test/clock.ts';
import { PERIODIC_SYNC_MS, SyncScheduler } from './scheduler.ts';

const ok = (pending = 0): SyncResult => ({
  v: 1,
  sent: 0,
  accepted: 0,
  duplicates: 0,
  rejected: 0,
  pending,
  at: 0,
  profiles: { sent: 0, accepted: 0, duplicates: 0, capped: 0, rejected: 0 },
});

/** A scheduler whose sync answers from `outcomes` in turn (an Error is thrown), recording triggers. */
function scripted(outcomes: (SyncResult | Error)[]) {
  const clock = manualClock(0);
  const triggers: SyncTrigger[] = [];
  const scheduler = new SyncScheduler(
    async (trigger) => {
      triggers.push(trigger);
      const next = outcomes.shift() ?? ok();
      if (next instanceof Error) throw next;
      return next;
    },
    { clock, random: () => 0.5 },
  );
  return { clock, triggers, scheduler };
}

const unavailable = (retryAfter: string | null) =>
  new EdgeloopError('EDGE_ERROR', 'HTTP 503', { cause: new HttpFailure(503, retryAfter) });

describe('sync scheduler', () => {
  it('retries with exponential backoff, honouring Retry-After, then goes idle', async () => {
    const { clock, triggers, scheduler } = scripted([
      new EdgeloopError('NETWORK', 'offline'),
      unavailable(null),
      new EdgeloopError('RATE_LIMITED', 'slow down', { cause: new HttpFailure(429, '120') }),
      ok(),
    ]);
    await expect(scheduler.run('manual')).rejects.toMatchObject({ code: 'NETWORK' });
    // attempt 1: 0.5 × 1 s
    expect(scheduler.snapshot()).toMatchObject({ state: 'waiting', attempts: 1, nextRetryAt: 500 });
    clock.advance(500);
    await scheduler.settled();
    // attempt 2: 0.5 × 2 s after t = 500
    expect(scheduler.snapshot()).toMatchObject({ state: 'waiting', attempts: 2, nextRetryAt: 1500 });
    clock.advance(1000);
    await scheduler.settled();
    // attempt 3: Retry-After 120 s beats 0.5 × 4 s
    expect(scheduler.snapshot()).toMatchObject({
      attempts: 3,
      nextRetryAt: 121_500,
      lastError: { code: 'RATE_LIMITED' },
    });
    // A page hide inside the server's wait does not sync.
    scheduler.request('pagehide');
    expect(triggers).toEqual(['manual', 'retry', 'retry']);
    clock.advance(120_000);
    await scheduler.settled();
    expect(triggers).toEqual(['manual', 'retry', 'retry', 'retry']);
    expect(scheduler.snapshot()).toMatchObject({ state: 'idle', attempts: 0 });
    expect(clock.pending()).toEqual([]);
  });

  it('does not retry a 400 or a SEQ_GAP, and stops the periodic sync until a trigger', async () => {
    const gap = new EdgeloopError('SEQ_GAP', 'expected seq 7', { cause: new HttpFailure(409, null) });
    const { clock, triggers, scheduler } = scripted([gap, ok()]);
    await expect(scheduler.run('manual')).rejects.toMatchObject({ code: 'SEQ_GAP' });
    expect(scheduler.snapshot()).toMatchObject({ state: 'idle', attempts: 1, lastError: { code: 'SEQ_GAP' } });
    scheduler.notePending();
    expect(clock.pending()).toEqual([]);
    scheduler.request('online');
    await scheduler.settled();
    expect(triggers).toEqual(['manual', 'online']);
    const bad = scripted([new EdgeloopError('EDGE_ERROR', 'HTTP 400', { cause: new HttpFailure(400, null) })]);
    await expect(bad.scheduler.run('manual')).rejects.toThrow();
    expect(bad.clock.pending()).toEqual([]);
  });

  it('syncs every minute while events are pending, and when another tab holds the lock', async () => {
    const { clock, triggers, scheduler } = scripted([ok(3), { ...ok(1), otherTab: true }, ok(0)]);
    scheduler.notePending();
    expect(clock.pending()).toEqual([PERIODIC_SYNC_MS]);
    clock.advance(PERIODIC_SYNC_MS);
    await scheduler.settled();
    expect(clock.pending()).toEqual([2 * PERIODIC_SYNC_MS]);
    clock.advance(PERIODIC_SYNC_MS);
    await scheduler.settled();
    expect(scheduler.snapshot().state).toBe('other-tab');
    clock.advance(PERIODIC_SYNC_MS);
    await scheduler.settled();
    expect(triggers).toEqual(['timer', 'timer', 'timer']);
    expect(clock.pending()).toEqual([]);
    scheduler.dispose();
  });
});
