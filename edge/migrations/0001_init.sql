-- Edgeloop schema v1. Migrations are append-only: never edit a released file, add 000N_*.sql.
-- Times are epoch milliseconds (INTEGER).

CREATE TABLE models (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);

-- Versions are immutable once written; only `status` changes (archive).
CREATE TABLE versions (
  model TEXT NOT NULL REFERENCES models(name),
  version INTEGER NOT NULL CHECK (version >= 1),
  manifest TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'archived')),
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (model, version)
);

-- Bytes live in R2 at blobs/sha256/<sha256>; several files may share one blob.
CREATE TABLE files (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  PRIMARY KEY (model, version, path),
  FOREIGN KEY (model, version) REFERENCES versions(model, version)
);
CREATE INDEX files_by_sha256 ON files (sha256);

CREATE TABLE aliases (
  model TEXT NOT NULL REFERENCES models(name),
  alias TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (model, alias)
);
CREATE INDEX aliases_by_version ON aliases (model, version);

-- Append-only history of alias moves: who (key id), when, from, to, why.
CREATE TABLE alias_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  alias TEXT NOT NULL,
  from_version INTEGER,
  to_version INTEGER NOT NULL,
  reason TEXT,
  key_id TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX alias_events_by_alias ON alias_events (model, alias, id);

-- Only the SHA-256 of a key is stored; `scopes` is a comma-separated list.
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

-- One row per event ever applied; the primary key makes retried events no-ops.
CREATE TABLE events (
  client_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  ts INTEGER NOT NULL,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  prediction_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (client_id, event_id)
);
CREATE INDEX events_by_client_seq ON events (client_id, seq);
CREATE INDEX events_by_model_version ON events (model, version, ts);
CREATE INDEX events_by_prediction ON events (prediction_id);

CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  max_seq INTEGER NOT NULL DEFAULT 0,
  last_seen INTEGER NOT NULL,
  first_seen INTEGER NOT NULL
);
