import type { ClientInfo, Event } from '../../../protocol/events.ts';

/**
 * Applies validated events of one batch in a single D1 batch (a transaction): each event
 * is inserted unless (client_id, event_id) is already stored, and the client row records
 * the highest sequence stored and when it was last seen. Retries are therefore counted once.
 * The events go in as one JSON parameter expanded by `json_each`, so a batch is one
 * statement whatever its size (D1 limits statements per invocation and bound parameters
 * per statement), and `changes` counts the new ones.
 *
 * @example
 * const { accepted, duplicates } = await insertEvents(env.DB, { clientId, batchId, events, now: Date.now() });
 */
export async function insertEvents(
  db: D1Database,
  input: { clientId: string; batchId: string; events: readonly Event[]; now: number },
): Promise<{ accepted: number; duplicates: number }> {
  const { clientId, batchId, events, now } = input;
  if (events.length === 0) return { accepted: 0, duplicates: 0 };
  const [inserted] = await db.batch([
    db
      .prepare(
        `INSERT OR IGNORE INTO events
           (client_id, event_id, seq, type, ts, model, version, prediction_id, payload, batch_id, received_at)
         SELECT ?1, value ->> '$.id', value ->> '$.seq', value ->> '$.type', value ->> '$.ts',
                value ->> '$.model', value ->> '$.version', value ->> '$.predictionId', value, ?2, ?3
         FROM json_each(?4)`,
      )
      .bind(clientId, batchId, now, JSON.stringify(events)),
    db
      .prepare(
        `INSERT INTO clients (client_id, max_seq, last_seen, first_seen)
         VALUES (?1, COALESCE((SELECT MAX(seq) FROM events WHERE client_id = ?1), 0), ?2, ?2)
         ON CONFLICT (client_id) DO UPDATE SET max_seq = excluded.max_seq, last_seen = excluded.last_seen`,
      )
      .bind(clientId, now),
  ]);
  const accepted = inserted?.meta.changes ?? 0;
  return { accepted, duplicates: events.length - accepted };
}

/** What is stored for a client, or null when it never sent a batch. */
export async function getClient(db: D1Database, clientId: string): Promise<ClientInfo | null> {
  const [client, counts] = await db.batch([
    db.prepare('SELECT max_seq, last_seen FROM clients WHERE client_id = ?').bind(clientId),
    db.prepare('SELECT type, COUNT(*) AS n FROM events WHERE client_id = ? GROUP BY type').bind(clientId),
  ]);
  const row = client?.results[0] as { max_seq: number; last_seen: number } | undefined;
  if (!row) return null;
  const byType: Record<string, number> = { prediction: 0, feedback: 0 };
  for (const { type, n } of (counts?.results ?? []) as { type: string; n: number }[]) byType[type] = n;
  return { clientId, maxSeq: row.max_seq, lastSeen: row.last_seen, counts: byType };
}
