import { describe, expect, it } from 'vitest';
import { syncNotes } from './sync-summary.ts';

const calm = {
  sync: { state: 'idle' as const, attempts: 0 },
  storage: { persisted: true, dropped: { outbox: 0, inputs: 0 } },
};

describe('syncNotes', () => {
  it('says nothing when all is well', () => {
    expect(syncNotes(calm)).toEqual([]);
  });

  it('names a scheduled retry with its attempt and error, another tab, and a failed sync', () => {
    const at = Date.UTC(2026, 10, 29, 12, 4, 31);
    const lastError = { code: 'NETWORK', message: 'offline', at };
    const waiting = syncNotes({ ...calm, sync: { state: 'waiting', attempts: 3, nextRetryAt: at, lastError } });
    expect(waiting).toEqual([`retrying at ${new Date(at).toLocaleTimeString()} (attempt 3): NETWORK`]);
    expect(syncNotes({ ...calm, sync: { state: 'other-tab', attempts: 0 } })).toEqual(['another tab is syncing']);
    const gap = { code: 'SEQ_GAP', message: 'must continue at seq 4', at };
    expect(syncNotes({ ...calm, sync: { state: 'idle', attempts: 1, lastError: gap } })).toEqual([
      'last sync failed: SEQ_GAP',
    ]);
  });

  it('shows how far the running sync got, in this tab or another', () => {
    const progress = (by: 'this-tab' | 'other-tab') => ({ sent: 100, total: 250, by });
    expect(syncNotes({ ...calm, sync: { state: 'syncing', attempts: 0, progress: progress('this-tab') } })).toEqual([
      'syncing: 100 of 250 events sent',
    ]);
    expect(syncNotes({ ...calm, sync: { state: 'other-tab', attempts: 0, progress: progress('other-tab') } })).toEqual([
      'another tab is syncing: 100 of 250 events sent',
    ]);
  });

  it('reports storage that is not persisted and every drop, by kind', () => {
    const storage = { persisted: false, dropped: { outbox: 120, inputs: 7 } };
    expect(syncNotes({ ...calm, storage })).toEqual([
      'storage not persisted: the browser may evict it under pressure',
      'dropped 120 acknowledged events',
      'dropped 7 stored inputs',
    ]);
  });
});
