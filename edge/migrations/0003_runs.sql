-- Experiment runs (issue 3), like MLflow's: params (set once) and tags (merged) as JSON
-- objects on the run, metric points in run_metrics, versions a run produced in run_versions.
-- Append-only, like every migration.

-- `seq` orders runs by creation (newest first) and is the list cursor; `id` is public.
-- `created_by` is the key id: a client key may write only to the runs it created.
CREATE TABLE runs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  model TEXT NOT NULL,
  name TEXT,
  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed', 'killed')),
  params TEXT NOT NULL DEFAULT '{}',
  tags TEXT NOT NULL DEFAULT '{}',
  parent_version INTEGER,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  ended_at INTEGER
);
CREATE INDEX runs_by_model ON runs (model, seq);
CREATE INDEX runs_by_status ON runs (status, seq);

-- One value per (run, key, step); the primary key serves both the series (ordered by step)
-- and the latest value per key (highest step).
CREATE TABLE run_metrics (
  run_id TEXT NOT NULL REFERENCES runs(id),
  key TEXT NOT NULL,
  step INTEGER NOT NULL CHECK (step >= 0),
  value REAL NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (run_id, key, step)
) WITHOUT ROWID;

CREATE TABLE run_versions (
  run_id TEXT NOT NULL REFERENCES runs(id),
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  linked_at INTEGER NOT NULL,
  linked_by TEXT NOT NULL,
  PRIMARY KEY (run_id, version),
  FOREIGN KEY (model, version) REFERENCES versions(model, version)
);
CREATE INDEX run_versions_by_version ON run_versions (model, version);
