-- Whose a citizen's device is, proven (docs/protocol.md §21), as SQLite's 0024.
ALTER TABLE devices ADD COLUMN binding TEXT;
ALTER TABLE login_attempts ADD COLUMN user_id TEXT;
ALTER TABLE login_attempts ADD COLUMN id_token TEXT;
CREATE INDEX login_attempts_by_nonce ON login_attempts(nonce);
