import type { ClientInfo } from '../../../protocol/events.ts';

/**
 * One event of a batch as stored: a valid event has its `id`; an invalid one (id null) is
 * recorded only to consume its seq. `payload` is the event's JSON text, compared on replays.
 */
export interface SeqItem {
  seq: number;
  id: string | null;
  payload: string;
  /** Why an invalid event was refused (ErrorCode). */
  code?: string;
}

export type InsertOutcome =
  | { status: 'applied'; accepted: number; duplicates: number }
  | { status: 'unknown' | 'revoked' | 'conflict' }
  | { status: 'gap'; expectedSeq: number };

// Something stored for one of the batch's seqs or event ids that differs from the batch: a
// replay with altered content. Rows this request inserts equal the batch, so the value of
// this expression is the same before and after each statement of the batch below.
// Each EXISTS looks up one indexed key ((client_id, seq) or (client_id, event_id)) per item of
// the batch. CROSS JOIN keeps json_each as the outer loop: left to itself the planner scans
// all of the client's events and probes the batch for each, which grows with the history.
const CONFLICT = `(
  EXISTS (SELECT 1 FROM json_each(?2) AS i CROSS JOIN events AS e
          WHERE e.client_id = ?1 AND e.seq = i.value ->> '$.seq'
            AND (e.event_id IS NOT i.value ->> '$.id' OR e.payload IS NOT i.value ->> '$.payload'))
  OR EXISTS (SELECT 1 FROM json_each(?2) AS i CROSS JOIN events AS e
          WHERE e.client_id = ?1 AND e.event_id = i.value ->> '$.id'
            AND (e.seq IS NOT i.value ->> '$.seq' OR e.payload IS NOT i.value ->> '$.payload'))
  OR EXISTS (SELECT 1 FROM json_each(?2) AS i CROSS JOIN rejected_events AS r
          WHERE r.client_id = ?1 AND r.seq = i.value ->> '$.seq'
            AND (i.value ->> '$.id' IS NOT NULL OR r.payload IS NOT i.value ->> '$.payload')))`;

const MAX_SEQ = '(SELECT max_seq FROM clients WHERE client_id = ?1)';

// Every write of the batch is conditional on this, evaluated inside its own statement: the
// client is registered, not revoked, its new events start at most at max_seq + 1 (?3 is the
// highest max_seq the batch's seqs leave a gap after) and nothing conflicts. The max_seq
// update runs last, so all statements see the same max_seq.
const GUARD = `EXISTS (SELECT 1 FROM clients WHERE client_id = ?1 AND registered_at IS NOT NULL
                         AND revoked_at IS NULL AND max_seq >= ?3)
               AND NOT ${CONFLICT}`;

/**
 * The smallest max_seq the stored client may have for `seqs` to apply without a gap: one
 * below the start of the contiguous run that ends at the highest seq.
 *
 * @example
 * gapFloor([3, 5, 6]) // 4: applies when max_seq ≥ 4 (3 is then a duplicate)
 */
export function gapFloor(seqs: readonly number[]): number {
  const sorted = [...seqs].sort((a, b) => a - b);
  let start = sorted.at(-1) ?? 1;
  for (let i = sorted.length - 2; i >= 0 && sorted[i] === start - 1; i--) start--;
  return start - 1;
}

/**
 * Applies one batch in a single D1 batch (a transaction, so one round trip and atomic against
 * a concurrent batch of the same client). The first statement reads the client's standing
 * (registered, revoked, max_seq, conflict); each write re-checks the same {@link GUARD}
 * itself, so when it fails nothing is written and the outcome says why. Valid events with a
 * seq above max_seq are inserted, invalid ones recorded in rejected_events (their seq is
 * consumed), lower seqs are duplicates; max_seq moves to the batch's highest seq.
 * The items go in as one JSON parameter expanded by `json_each`, so a batch is four
 * statements whatever its size.
 *
 * @example
 * const outcome = await insertEvents(env.DB, { clientId, batchId, items, now: Date.now() });
 * if (outcome.status === 'gap') throw seqGap(outcome.expectedSeq);
 */
export async function insertEvents(
  db: D1Database,
  input: { clientId: string; batchId: string; items: readonly SeqItem[]; now: number },
): Promise<InsertOutcome> {
  const { clientId, batchId, items, now } = input;
  const json = JSON.stringify(items);
  const floor = gapFloor(items.map((item) => item.seq));
  const [standing, inserted] = await db.batch([
    db
      .prepare(`SELECT registered_at, revoked_at, max_seq, ${CONFLICT} AS conflict FROM clients WHERE client_id = ?1`)
      .bind(clientId, json),
    db
      .prepare(
        `INSERT INTO events
           (client_id, event_id, seq, type, ts, model, version, prediction_id, payload, batch_id, received_at)
         SELECT ?1, i.value ->> '$.id', i.value ->> '$.seq', p ->> '$.type', p ->> '$.ts', p ->> '$.model',
                p ->> '$.version', p ->> '$.predictionId', p, ?5, ?4
         FROM (SELECT value, value ->> '$.payload' AS p FROM json_each(?2)) AS i
         WHERE i.value ->> '$.id' IS NOT NULL AND i.value ->> '$.seq' > ${MAX_SEQ} AND ${GUARD}`,
      )
      .bind(clientId, json, floor, now, batchId),
    db
      .prepare(
        `INSERT INTO rejected_events (client_id, seq, payload, code, batch_id, received_at)
         SELECT ?1, i.value ->> '$.seq', i.value ->> '$.payload', i.value ->> '$.code', ?5, ?4
         FROM json_each(?2) AS i
         WHERE i.value ->> '$.id' IS NULL AND i.value ->> '$.seq' > ${MAX_SEQ} AND ${GUARD}`,
      )
      .bind(clientId, json, floor, now, batchId),
    db
      .prepare(
        `UPDATE clients
         SET max_seq = MAX(max_seq, (SELECT MAX(i.value ->> '$.seq') FROM json_each(?2) AS i)), last_seen = ?4
         WHERE client_id = ?1 AND ${GUARD}`,
      )
      .bind(clientId, json, floor, now),
  ]);
  const row = standing?.results[0] as
    | { registered_at: number | null; revoked_at: number | null; max_seq: number; conflict: number }
    | undefined;
  if (!row || row.registered_at === null) return { status: 'unknown' };
  if (row.revoked_at !== null) return { status: 'revoked' };
  if (row.conflict) return { status: 'conflict' };
  if (row.max_seq < floor) return { status: 'gap', expectedSeq: row.max_seq + 1 };
  const accepted = inserted?.meta.changes ?? 0;
  const valid = items.filter((item) => item.id !== null).length;
  return { status: 'applied', accepted, duplicates: valid - accepted };
}

/** What is stored for a client, or null when it never registered nor sent a batch. */
export async function getClient(db: D1Database, clientId: string): Promise<ClientInfo | null> {
  const [client, counts] = await db.batch([
    db.prepare('SELECT max_seq, last_seen, revoked_at FROM clients WHERE client_id = ?').bind(clientId),
    db.prepare('SELECT type, COUNT(*) AS n FROM events WHERE client_id = ? GROUP BY type').bind(clientId),
  ]);
  const row = client?.results[0] as { max_seq: number; last_seen: number; revoked_at: number | null } | undefined;
  if (!row) return null;
  const byType: Record<string, number> = { prediction: 0, feedback: 0 };
  for (const { type, n } of (counts?.results ?? []) as { type: string; n: number }[]) byType[type] = n;
  const info: ClientInfo = { clientId, maxSeq: row.max_seq, lastSeen: row.last_seen, counts: byType };
  if (row.revoked_at !== null) info.revokedAt = row.revoked_at;
  return info;
}
