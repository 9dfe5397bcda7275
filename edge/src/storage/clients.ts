/**
 * Creates the row of a newly registered client: nothing applied yet, so `max_seq` is one below
 * the first seq it will send.
 *
 * @example
 * await insertClient(env.DB, { clientId, nextSeq: 1, now: Date.now() });
 */
export async function insertClient(
  db: D1Database,
  input: { clientId: string; nextSeq: number; now: number },
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO clients (client_id, max_seq, last_seen, first_seen, registered_at)
       VALUES (?1, ?2, ?3, ?3, ?3)`,
    )
    .bind(input.clientId, input.nextSeq - 1, input.now)
    .run();
}

/**
 * Marks a client revoked (its writes are refused from now on); false when there is no such
 * client. Revoking twice keeps the first time.
 *
 * @example
 * if (!(await revokeClient(env.DB, clientId, Date.now()))) throw notFound();
 */
export async function revokeClient(db: D1Database, clientId: string, now: number): Promise<boolean> {
  const result = await db
    .prepare('UPDATE clients SET revoked_at = COALESCE(revoked_at, ?2) WHERE client_id = ?1')
    .bind(clientId, now)
    .run();
  return result.meta.changes > 0;
}

/** Whether a client may write: registered and not revoked ('unknown' when it has no row). */
export async function clientStanding(db: D1Database, clientId: string): Promise<'ok' | 'revoked' | 'unknown'> {
  const row = await db
    .prepare('SELECT registered_at, revoked_at FROM clients WHERE client_id = ?')
    .bind(clientId)
    .first<{ registered_at: number | null; revoked_at: number | null }>();
  if (!row || row.registered_at === null) return 'unknown';
  return row.revoked_at === null ? 'ok' : 'revoked';
}
