-- The registration proof (docs/protocol.md §3), as SQLite's 0020: clients check whose a device is by it.
ALTER TABLE devices ADD COLUMN registration_proof BYTEA;
