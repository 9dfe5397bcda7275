import { type EventBatch, EventBatchResult } from '../../protocol/events.ts';
import type { SyncResult } from '../../protocol/worker-api.ts';
import { type OutboxRow, withStorage } from '../db.ts';
import type { SyncRuntime } from '../runtime.ts';
import { pendingCount } from './outbox.ts';
import { settledItems } from './reply.ts';

/** Events per `POST /v1/events`; the edge allows more, smaller batches retry cheaply. */
export const BATCH_SIZE = 100;
/** Most JSON bytes of events per batch (before gzip), so one batch stays a modest request. */
export const BATCH_BYTES = 256 * 1024;

/**
 * The longest prefix of `rows` (at least one row) whose events fit in `maxBytes` of JSON.
 *
 * @example
 * const batch = takeBatch(rows, BATCH_BYTES);
 */
export function takeBatch(rows: OutboxRow[], maxBytes: number): OutboxRow[] {
  const encoder = new TextEncoder();
  let bytes = 0;
  let count = 0;
  for (const row of rows) {
    // +1 for the comma between array items.
    bytes += encoder.encode(JSON.stringify(row.event)).byteLength + 1;
    if (count > 0 && bytes > maxBytes) break;
    count++;
  }
  return rows.slice(0, count);
}

/**
 * Sends pending outbox events to the edge in seq order, in batches of at most BATCH_SIZE events
 * and BATCH_BYTES of JSON (EdgeClient gzips large bodies). The caller registered first
 * (sync/identity.ts): batches carry the issued client id and token. An event is marked sent
 * only after the edge acknowledged it (accepted or duplicate) and marked rejected (with the
 * edge's code, never resent) when the edge refused it. A failed request leaves its batch
 * pending and throws NETWORK, EDGE_ERROR or the edge's SEQ_GAP (the edge expects another seq:
 * nothing is dropped, the error is reported); batches sent before it stay acknowledged.
 * The batch id is derived from the seq range, so a batch retried after a lost reply is the
 * same batch to the edge, which counts it once. Callers must not run two syncs at once; they
 * record the sync (with its profiles) as `lastSync`. `onBatch` runs after each acknowledged batch.
 *
 * @example
 * const result = await syncOutbox(runtime); // { sent: 3, accepted: 3, duplicates: 0, rejected: 0, pending: 0, … }
 */
export async function syncOutbox(
  runtime: SyncRuntime,
  onBatch: (events: number) => Promise<void> = async () => undefined,
): Promise<Omit<SyncResult, 'profiles'>> {
  const { db, edge, clientId } = runtime;
  const totals = { sent: 0, accepted: 0, duplicates: 0, rejected: 0 };
  for (;;) {
    const rows = takeBatch(
      await withStorage('read outbox', () => db.outbox.where('state').equals('pending').limit(BATCH_SIZE).toArray()),
      BATCH_BYTES,
    );
    const first = rows[0];
    const last = rows.at(-1);
    if (!first || !last) break;
    const batch: EventBatch = {
      v: 1,
      clientId,
      batchId: `b_${first.seq}_${last.seq}`,
      events: rows.map((row) => row.event),
    };
    const reply = await edge.json('/v1/events', EventBatchResult, batch);
    await settle(runtime, rows, reply);
    await onBatch(rows.length);
    totals.sent += rows.length;
    totals.accepted += reply.accepted;
    totals.duplicates += reply.duplicates;
    totals.rejected += reply.rejected.length;
  }
  const pending = await withStorage('count outbox', () => pendingCount(db));
  return { v: 1, ...totals, pending, at: Date.now() };
}

async function settle(runtime: SyncRuntime, rows: OutboxRow[], reply: EventBatchResult): Promise<void> {
  const { db } = runtime;
  const refusals = settledItems('/v1/events', 'events', reply.rejected, reply.accepted + reply.duplicates, rows.length);
  const settledAt = Date.now();
  await withStorage('mark outbox', () =>
    db.outbox.bulkUpdate(
      rows.map((row, index) => {
        const rejection = refusals[index];
        return {
          key: row.seq,
          changes: rejection ? { state: 'rejected', settledAt, rejection } : { state: 'sent', settledAt },
        };
      }),
    ),
  );
}
