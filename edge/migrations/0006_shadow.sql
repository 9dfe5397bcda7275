-- Shadow evaluation at the edge: each /v2 infer served from an alias whose rollout has a shadow
-- runs the shadow version on the same inputs after answering, and records how the two compared
-- (its output is never returned). Append-only, like every migration.
CREATE TABLE shadow_comparisons (
  id INTEGER PRIMARY KEY,
  model TEXT NOT NULL,
  alias TEXT NOT NULL,
  version INTEGER NOT NULL,
  shadow_version INTEGER NOT NULL,
  at INTEGER NOT NULL,
  -- Rows (examples) of the request's batch compared.
  rows INTEGER NOT NULL,
  -- Rows whose top class (argmax of the first output) agreed.
  agreed INTEGER NOT NULL,
  -- Largest absolute difference between the two first outputs; NULL when their shapes differ.
  max_abs_diff REAL
);
CREATE INDEX shadow_comparisons_by_version ON shadow_comparisons (model, version, shadow_version);
