/**
 * SQLite migrations of a DriftAggregator (one per model@version), applied in order once each
 * and recorded in `migrations` (do/migrate.ts). Append-only: add a step, never edit one.
 *
 * - `received`: every profile id a client sent, with what became of it (accepted or capped),
 *   so a retry is a duplicate whatever it carries.
 * - `contributions`: rows each client has had merged into each hour window (the cap).
 * - `windows`: the merged profile of each hour window's established partials (JSON): what the
 *   window is judged on.
 * - `alerts`: one per drifted window, with the webhook delivery state.
 * - `partials` (2): each contributor's rows in each window as one profile, with its standing
 *   (drift/standing.ts), so a window can be rebuilt without a contributor (erasure) and held-back
 *   rows are kept apart from judged ones. Windows merged before partials were kept become one
 *   established partial of contributor `legacy:merged`.
 *
 * Objects made before steps were recorded created these tables at every start: both steps keep
 * `IF NOT EXISTS`, so such an object takes them as a no-op (step 1) and the legacy partials
 * (step 2), and records both.
 */
export const DRIFT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS received (
     client_id TEXT NOT NULL,
     profile_id TEXT NOT NULL,
     window INTEGER NOT NULL,
     rows INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('accepted', 'capped')),
     received_at INTEGER NOT NULL,
     PRIMARY KEY (client_id, profile_id)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS contributions (
     window INTEGER NOT NULL,
     client_id TEXT NOT NULL,
     rows INTEGER NOT NULL,
     PRIMARY KEY (window, client_id)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS windows (
     window INTEGER PRIMARY KEY,
     profile TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS alerts (
     window INTEGER PRIMARY KEY,
     payload TEXT NOT NULL,
     delivery TEXT NOT NULL CHECK (delivery IN ('none', 'pending', 'delivered', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER,
     last_error TEXT,
     delivered_at INTEGER,
     created_at INTEGER NOT NULL
   );`,
  `CREATE TABLE IF NOT EXISTS partials (
     window INTEGER NOT NULL,
     client_id TEXT NOT NULL,
     standing TEXT NOT NULL CHECK (standing IN ('established', 'probation', 'unverified')),
     rows INTEGER NOT NULL,
     profile TEXT NOT NULL,
     PRIMARY KEY (window, client_id)
   ) WITHOUT ROWID;
   INSERT INTO partials (window, client_id, standing, rows, profile)
     SELECT w.window, 'legacy:merged', 'established', json_extract(w.profile, '$.count'), w.profile
     FROM windows w WHERE NOT EXISTS (SELECT 1 FROM partials p WHERE p.window = w.window);`,
];
