/**
 * SQLite migrations of a RoundCoordinator (one per model), applied in order once each and
 * recorded in `migrations` (do/migrate.ts). Append-only: add an entry, never edit one.
 *
 * - `meta`: the model the object coordinates (its id is only a hash of the name).
 * - `rounds`: every round with its settings, progress, privacy, candidate and gate (JSON).
 * - `updates`: one accepted update per (round, client); its bytes are in R2 at `r2_key`.
 * - `askers`: clients that asked for an open round (the eligible fleet of its sampling rate).
 * - `policies`: an alias's continuous-training policy and what it is watching.
 * - `evaluations` (2): contributors' held-out counts of base and candidate for a gating round.
 */
export const ROUND_MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE rounds (
     id TEXT PRIMARY KEY,
     alias TEXT NOT NULL,
     base_version INTEGER NOT NULL,
     status TEXT NOT NULL,
     settings TEXT NOT NULL,
     weights TEXT NOT NULL,
     opened_at INTEGER NOT NULL,
     opened_by TEXT NOT NULL,
     closed_at INTEGER,
     contributors INTEGER NOT NULL DEFAULT 0,
     examples INTEGER NOT NULL DEFAULT 0,
     clipped INTEGER NOT NULL DEFAULT 0,
     privacy TEXT,
     candidate_version INTEGER,
     gate TEXT,
     reason TEXT
   );
   CREATE INDEX rounds_by_status ON rounds (status, opened_at);
   CREATE TABLE updates (
     round_id TEXT NOT NULL,
     client_id TEXT NOT NULL,
     examples INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     r2_key TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     PRIMARY KEY (round_id, client_id)
   ) WITHOUT ROWID;
   CREATE TABLE askers (round_id TEXT NOT NULL, client_id TEXT NOT NULL, PRIMARY KEY (round_id, client_id)) WITHOUT ROWID;
   CREATE TABLE policies (
     alias TEXT PRIMARY KEY,
     policy TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     watching TEXT,
     last_round_at INTEGER,
     labels_at_last_round INTEGER NOT NULL DEFAULT 0
   );`,
  // Fleet held-out evaluation: the candidate's weights (a blob by sha256) and its holdout metrics
  // wait with the round in 'gating' until `evaluate_until`; contributors' counts in `evaluations`.
  `ALTER TABLE rounds ADD COLUMN candidate_sha TEXT;
   ALTER TABLE rounds ADD COLUMN evaluate_until INTEGER;
   ALTER TABLE rounds ADD COLUMN holdout TEXT;
   CREATE TABLE evaluations (
     round_id TEXT NOT NULL,
     client_id TEXT NOT NULL,
     examples INTEGER NOT NULL,
     base_correct INTEGER NOT NULL,
     candidate_correct INTEGER NOT NULL,
     received_at INTEGER NOT NULL,
     PRIMARY KEY (round_id, client_id)
   ) WITHOUT ROWID;`,
  // Labels each contributor held out of its fit: only those that held some out are asked.
  'ALTER TABLE updates ADD COLUMN held_out INTEGER NOT NULL DEFAULT 0;',
];
