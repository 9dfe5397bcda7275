-- Which model versions hold drift rows of each client, so that erasing a client reaches every
-- version's DriftAggregator without asking them all. The aggregator writes the row when a
-- registered, unrevoked client first sends it rows (as a device, or as `edge:<id>` inference).
-- Append-only, like every migration.
CREATE TABLE drift_contributors (
  client_id TEXT NOT NULL,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  PRIMARY KEY (client_id, model, version)
) WITHOUT ROWID;
