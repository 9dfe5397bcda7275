-- Rollouts (canary share, shadow version) per alias, and kinds of alias history entries.
-- A rollout lives on its alias row: it exists only with the alias and is read with it.
ALTER TABLE aliases ADD COLUMN canary_version INTEGER;
ALTER TABLE aliases ADD COLUMN canary_percent REAL;
ALTER TABLE aliases ADD COLUMN shadow_version INTEGER;
CREATE INDEX aliases_by_canary ON aliases (model, canary_version);
CREATE INDEX aliases_by_shadow ON aliases (model, shadow_version);

-- Rows written before this migration were all moves. A `rollout` entry keeps from = to (the
-- alias does not move) and records the rollout it set as JSON in `rollout`.
ALTER TABLE alias_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'move'
  CHECK (kind IN ('move', 'rollout', 'rollback'));
ALTER TABLE alias_events ADD COLUMN rollout TEXT;
