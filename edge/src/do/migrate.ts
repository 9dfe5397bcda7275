/**
 * Applies the numbered steps of a Durable Object's SQLite schema that its storage has not seen,
 * in order, each recorded in its `migrations` table (id = the step's number, from 1) in the
 * object's implicit transaction. Steps are append-only: add one, never edit one. Call it from
 * the object's constructor inside `blockConcurrencyWhile`.
 *
 * @example
 * void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage.sql, DRIFT_MIGRATIONS));
 */
export function migrate(sql: SqlStorage, steps: readonly string[]): void {
  sql.exec('CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const done = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM migrations').one().n;
  steps.slice(done).forEach((statement, i) => {
    sql.exec(statement);
    sql.exec('INSERT INTO migrations (id, applied_at) VALUES (?, ?)', done + i + 1, Date.now());
  });
}
