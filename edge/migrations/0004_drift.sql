-- Drift monitoring (issue 4). The DriftAggregator Durable Object of each model@version keeps
-- the merged profiles; D1 holds what the registry API and /metrics read across versions.
-- Append-only, like every migration.

-- One row per (version, hour window) that drifted, written once by the DO. A version needs
-- attention while it has rows with acknowledged_at NULL. `drifted` is a JSON array of names.
CREATE TABLE drift_alerts (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  window INTEGER NOT NULL,
  drifted TEXT NOT NULL,
  drifted_share REAL NOT NULL,
  dataset_drifted INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  acknowledged_at INTEGER,
  PRIMARY KEY (model, version, window)
) WITHOUT ROWID;

-- The latest per-feature verdict of each version (from its most recent window with data), for
-- /metrics. `statistic` is NULL when that window had no values for the feature.
CREATE TABLE drift_stats (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  feature TEXT NOT NULL,
  method TEXT NOT NULL,
  statistic REAL,
  threshold REAL NOT NULL,
  drifted INTEGER NOT NULL,
  window INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (model, version, feature)
) WITHOUT ROWID;

-- The dataset verdict of the same window: the share of drifted features.
CREATE TABLE drift_datasets (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  drifted_share REAL NOT NULL,
  drifted INTEGER NOT NULL,
  threshold REAL NOT NULL,
  window INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (model, version)
) WITHOUT ROWID;
