-- Erasure of a client on request (issue 14). One row per erased client: it makes a repeated
-- request answer the same receipt and lets an interrupted erasure resume where it stopped.
-- It holds the client id, who asked, when, and the counts of what was removed — nothing the
-- client sent. Append-only, like every migration.
CREATE TABLE client_erasures (
  client_id TEXT PRIMARY KEY,
  requested_by TEXT NOT NULL CHECK (requested_by IN ('client', 'admin')),
  requested_at INTEGER NOT NULL,
  -- JSON {profiles, rows, versions} once the drift windows were rebuilt without the client.
  drift TEXT,
  -- JSON counts of the D1 rows removed, and when (set in the same transaction as the deletes).
  removed TEXT,
  erased_at INTEGER
) WITHOUT ROWID;
