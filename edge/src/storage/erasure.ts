import type { EraseReceipt } from '../../../protocol/clients.ts';

type Removed = Omit<EraseReceipt['removed'], 'driftProfiles' | 'driftRows'>;
/** What the drift step removed (drift/erase.ts), kept so a resumed erasure does not redo it. */
export interface DriftErased {
  profiles: number;
  rows: number;
  versions: { model: string; version: number }[];
}

/** An erasure as recorded: started, its drift step done or not, finished or not. */
export interface ErasureRow {
  clientId: string;
  by: EraseReceipt['by'];
  requestedAt: number;
  drift: DriftErased | null;
  removed: Removed | null;
  erasedAt: number | null;
}

interface Row {
  client_id: string;
  requested_by: EraseReceipt['by'];
  requested_at: number;
  drift: string | null;
  removed: string | null;
  erased_at: number | null;
}

const toErasure = (row: Row): ErasureRow => ({
  clientId: row.client_id,
  by: row.requested_by,
  requestedAt: row.requested_at,
  drift: row.drift === null ? null : (JSON.parse(row.drift) as DriftErased),
  removed: row.removed === null ? null : (JSON.parse(row.removed) as Removed),
  erasedAt: row.erased_at,
});

/**
 * Starts (or finds) the erasure of a client, in one transaction: records the request and
 * revokes the client, so nothing it sends from now on is written while its data is removed.
 * Null when the edge knows no such client and never erased one of that id.
 *
 * @example
 * const erasure = await beginErasure(env.DB, 'c_Jx3…', 'client', Date.now());
 */
export async function beginErasure(
  db: D1Database,
  clientId: string,
  by: EraseReceipt['by'],
  now: number,
): Promise<ErasureRow | null> {
  const [, , found] = await db.batch([
    db
      .prepare(
        `INSERT INTO client_erasures (client_id, requested_by, requested_at)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM clients WHERE client_id = ?1)
         ON CONFLICT (client_id) DO NOTHING`,
      )
      .bind(clientId, by, now),
    db.prepare('UPDATE clients SET revoked_at = COALESCE(revoked_at, ?2) WHERE client_id = ?1').bind(clientId, now),
    db.prepare('SELECT * FROM client_erasures WHERE client_id = ?').bind(clientId),
  ]);
  const row = found?.results[0] as Row | undefined;
  return row ? toErasure(row) : null;
}

/** Records that the client's drift contributions are gone (once: a resumed erasure keeps the first count). */
export async function recordDriftErased(db: D1Database, clientId: string, drift: DriftErased): Promise<void> {
  await db
    .prepare('UPDATE client_erasures SET drift = ?2 WHERE client_id = ?1 AND drift IS NULL')
    .bind(clientId, JSON.stringify(drift))
    .run();
}

// Counted and deleted in one transaction, so the receipt's counts are exactly what went.
const OF_RUNS = 'run_id IN (SELECT id FROM runs WHERE client_id = ?1)';
const COUNTS = `json_object(
  'events', (SELECT COUNT(*) FROM events WHERE client_id = ?1),
  'rejectedEvents', (SELECT COUNT(*) FROM rejected_events WHERE client_id = ?1),
  'runs', (SELECT COUNT(*) FROM runs WHERE client_id = ?1),
  'runMetrics', (SELECT COUNT(*) FROM run_metrics WHERE ${OF_RUNS}),
  'registration', json(CASE WHEN EXISTS (SELECT 1 FROM clients WHERE client_id = ?1) THEN 'true' ELSE 'false' END))`;

/**
 * Removes every D1 row of the client — events (applied and refused), the runs it created with
 * their metrics and version links, its registration — and marks the erasure done, in one
 * transaction; returns the finished record. Run after the drift step.
 *
 * @example
 * const done = await finishErasure(env.DB, 'c_Jx3…', Date.now());
 */
export async function finishErasure(db: D1Database, clientId: string, now: number): Promise<ErasureRow> {
  const statements = [
    db
      .prepare(
        `UPDATE client_erasures SET removed = ${COUNTS}, erased_at = ?2 WHERE client_id = ?1 AND erased_at IS NULL`,
      )
      .bind(clientId, now),
    ...[
      `DELETE FROM run_metrics WHERE ${OF_RUNS}`,
      `DELETE FROM run_versions WHERE ${OF_RUNS}`,
      'DELETE FROM runs WHERE client_id = ?1',
      'DELETE FROM events WHERE client_id = ?1',
      'DELETE FROM rejected_events WHERE client_id = ?1',
      'DELETE FROM clients WHERE client_id = ?1',
    ].map((sql) => db.prepare(sql).bind(clientId)),
    db.prepare('SELECT * FROM client_erasures WHERE client_id = ?').bind(clientId),
  ];
  const results = await db.batch(statements);
  const row = results.at(-1)?.results[0] as Row | undefined;
  if (!row) throw new Error(`erasure of ${clientId} has no record`);
  return toErasure(row);
}

/**
 * The receipt of a finished erasure.
 *
 * @example
 * return c.json(receiptOf(done));
 */
export function receiptOf(erasure: ErasureRow): EraseReceipt {
  const removed = erasure.removed ?? { events: 0, rejectedEvents: 0, runs: 0, runMetrics: 0, registration: false };
  const drift = erasure.drift ?? { profiles: 0, rows: 0, versions: [] };
  return {
    v: 1,
    clientId: erasure.clientId,
    requestedAt: erasure.requestedAt,
    erasedAt: erasure.erasedAt ?? erasure.requestedAt,
    by: erasure.by,
    removed: { ...removed, driftProfiles: drift.profiles, driftRows: drift.rows },
    drift: { versions: drift.versions },
  };
}
