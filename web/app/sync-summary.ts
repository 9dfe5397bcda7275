import type { WorkerStatus } from '../../protocol/worker-api.ts';

/**
 * What the status bar says about syncing and storage beyond the last sync's counts: the sync
 * running now (here or in another tab) and how far it got, a retry that is scheduled, the last error's code, storage that is not
 * persisted, and anything retention dropped. Empty when there is nothing to say.
 *
 * @example
 * syncNotes(status); // ['retrying at 12:04:31 (attempt 3): NETWORK', 'dropped 120 acknowledged events']
 */
export function syncNotes(status: Pick<WorkerStatus, 'sync' | 'storage'>): string[] {
  const { sync, storage } = status;
  const notes: string[] = [];
  const error = sync.lastError ? `: ${sync.lastError.code}` : '';
  if (sync.progress) {
    const { sent, total, by } = sync.progress;
    notes.push(`${by === 'this-tab' ? 'syncing' : 'another tab is syncing'}: ${sent} of ${total} events sent`);
  } else if (sync.state === 'waiting' && sync.nextRetryAt !== undefined) {
    notes.push(`retrying at ${new Date(sync.nextRetryAt).toLocaleTimeString()} (attempt ${sync.attempts})${error}`);
  } else if (sync.state === 'other-tab') {
    notes.push('another tab is syncing');
  } else if (sync.state === 'syncing') {
    notes.push('syncing…');
  } else if (sync.lastError) {
    notes.push(`last sync failed${error}`);
  }
  if (storage.persisted === false) notes.push('storage not persisted: the browser may evict it under pressure');
  if (storage.dropped.outbox > 0) notes.push(`dropped ${storage.dropped.outbox} acknowledged events`);
  if (storage.dropped.inputs > 0) notes.push(`dropped ${storage.dropped.inputs} stored inputs`);
  return notes;
}
