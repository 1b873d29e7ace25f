-- Whose a citizen's device is, proven (docs/protocol.md §21): the ID token of the sign-in that carried the
-- device's key, or a link certificate from another of the person's devices (JSON). The server keeps it for the
-- clients to check; it cannot make one itself. A sign-in's ID token is kept with its attempt until the device
-- it attests registers (found by the nonce, which the device's keys make).
ALTER TABLE devices ADD COLUMN binding TEXT;
ALTER TABLE login_attempts ADD COLUMN user_id TEXT;
ALTER TABLE login_attempts ADD COLUMN id_token TEXT;
CREATE INDEX login_attempts_by_nonce ON login_attempts(nonce);
