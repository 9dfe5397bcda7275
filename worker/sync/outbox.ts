import * as v from 'valibot';
import { EdgeloopError } from '../../protocol/errors.ts';
import { Event } from '../../protocol/events.ts';
import type { EdgeloopDb } from '../db.ts';

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
/** An event before the outbox gives it its sequence number. */
export type UnsequencedEvent = WithoutSeq<Event>;

/**
 * Appends an event to the outbox with the next per-client sequence number. Call it inside a
 * `db.transaction('rw', …, db.outbox, db.meta, …)` that also writes the row the event records,
 * so the row, the event and the counter commit or fail together (no gaps, no orphans).
 *
 * @example
 * await db.transaction('rw', db.feedback, db.outbox, db.meta, async () => {
 *   const seq = await appendEvent(db, event);
 *   await db.feedback.add({ ...row, seq });
 * });
 */
export async function appendEvent(db: EdgeloopDb, event: UnsequencedEvent): Promise<number> {
  const counter = await db.meta.get('nextSeq');
  const seq = counter?.key === 'nextSeq' ? counter.value : 1;
  // Validate before storing: an event the protocol would reject must fail here, not at the edge.
  const parsed = v.safeParse(Event, { ...event, seq });
  if (!parsed.success)
    throw new EdgeloopError('INTERNAL', `refusing to record an invalid event: ${parsed.issues[0].message}`);
  await db.meta.put({ key: 'nextSeq', value: seq + 1 });
  await db.outbox.add({ seq, event: parsed.output, state: 'pending' });
  return seq;
}

/** Number of events not yet acknowledged by the edge. */
export function pendingCount(db: EdgeloopDb): Promise<number> {
  return db.outbox.where('state').equals('pending').count();
}
