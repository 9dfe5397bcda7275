-- Runs a device creates belong to its client (issue 14): every device shares the public
-- client key, so the key alone cannot tell one device's run from another's. NULL for runs of
-- publish keys (operators, CI) and for runs from before this migration (then only publish
-- keys may write them). Append-only, like every migration.
ALTER TABLE runs ADD COLUMN client_id TEXT;
CREATE INDEX runs_by_client ON runs (client_id) WHERE client_id IS NOT NULL;
