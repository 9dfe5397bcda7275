import { describe, expect, it } from 'vitest';
import { manualClock } from '../test/clock.ts';
import { AutoParticipation, CHECK_EVERY_MS } from './auto.ts';

describe('automatic participation', () => {
  it('looks after a sync at most once a minute, only when enabled, never while a predict waits', async () => {
    const clock = manualClock();
    let enabled = false;
    let runs = 0;
    const auto = new AutoParticipation(clock, {
      enabled: () => enabled,
      run: async () => {
        runs++;
      },
    });
    auto.synced();
    expect(runs).toBe(0);
    enabled = true;
    let answer: (value: string) => void = () => undefined;
    const predict = auto.around(() => new Promise<string>((resolve) => (answer = resolve)));
    auto.synced();
    expect(runs).toBe(0);
    answer('7');
    expect(await predict).toBe('7');
    auto.synced();
    auto.synced();
    expect(runs).toBe(1);
    clock.advance(CHECK_EVERY_MS - 1);
    auto.synced();
    expect(runs).toBe(1);
    clock.advance(1);
    auto.synced();
    expect(runs).toBe(2);
  });

  it('drops a failed participation: the next sync looks again', async () => {
    const clock = manualClock();
    let runs = 0;
    const auto = new AutoParticipation(clock, {
      enabled: () => true,
      run: async () => {
        runs++;
        throw new Error('offline');
      },
    });
    auto.synced();
    clock.advance(CHECK_EVERY_MS);
    auto.synced();
    expect(runs).toBe(2);
  });
});
