-- The unit identity (docs/protocol.md §18): every certificate a unit's identity key signed (its genesis,
-- hand-overs, staff device certifications and revocations, unit key epochs), in the order they were filed.
CREATE TABLE unit_certificates (
    id         INTEGER PRIMARY KEY,
    unit_id    TEXT NOT NULL REFERENCES units(id),
    kind       TEXT NOT NULL,
    subject    BLOB NOT NULL,
    issued_at  INTEGER NOT NULL,
    signer     BLOB NOT NULL,
    signature  BLOB NOT NULL,
    filed_at   INTEGER NOT NULL
);
CREATE INDEX unit_certificates_by_unit ON unit_certificates(unit_id, id);

-- The key transparency log (§19): an append-only list of leaves; `ref` names the record a leaf logs
-- (e.g. "device:<id>", "revoked:<id>", "unit-epoch:<unit>:<epoch>", "unit-cert:<id>"), so that each is
-- logged once. Rows are never updated or deleted (the triggers refuse it, whatever the code does).
CREATE TABLE key_log (
    idx        INTEGER PRIMARY KEY,
    ref        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    leaf       BLOB NOT NULL,
    logged_at  INTEGER NOT NULL
);
CREATE INDEX key_log_by_subject ON key_log(subject, idx);
CREATE TRIGGER key_log_no_update BEFORE UPDATE ON key_log BEGIN SELECT RAISE(ABORT, 'the key log is append-only'); END;
CREATE TRIGGER key_log_no_delete BEFORE DELETE ON key_log BEGIN SELECT RAISE(ABORT, 'the key log is append-only'); END;
