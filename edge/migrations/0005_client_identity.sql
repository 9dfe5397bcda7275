-- Client identity and ordered sync ("sync you can trust"). Append-only, like every migration.

-- `POST /v1/clients` creates the row (max_seq = nextSeq - 1) and issues a token; a row with
-- registered_at NULL is a client from before tokens and can no longer write. Revoking sets
-- revoked_at; every write checks it in the same D1 batch as the write.
ALTER TABLE clients ADD COLUMN registered_at INTEGER;
ALTER TABLE clients ADD COLUMN revoked_at INTEGER;

-- Events that failed validation still consume their seq (the client never resends them), so
-- the gap check can move past them. `payload` is the event as sent, to tell a retry of the
-- same batch (identical) from a replay with altered content (409 CONFLICT).
CREATE TABLE rejected_events (
  client_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  payload TEXT NOT NULL,
  code TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;
