-- Samtal schema, version 1. Content is ciphertext only; everything else here is metadata the server needs.
CREATE TABLE municipalities (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

-- enhet: the trust boundary for case data.
CREATE TABLE units (
    id              TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    name            TEXT NOT NULL
);

CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN
                   ('citizen', 'caseworker', 'supervisor', 'unit_admin', 'log_reviewer', 'agency')),
    unit_id      TEXT REFERENCES units(id),
    created_at   INTEGER NOT NULL
);

-- Public keys only: private keys never reach the server.
CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    sign_pub   BLOB NOT NULL,
    kem_pub    BLOB NOT NULL,
    label      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX devices_by_user ON devices(user_id);

CREATE TABLE unit_key_epochs (
    unit_id           TEXT NOT NULL REFERENCES units(id),
    epoch             INTEGER NOT NULL,
    public_key        BLOB NOT NULL,
    created_by_device TEXT NOT NULL REFERENCES devices(id),
    signature         BLOB NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (unit_id, epoch)
);

-- The unit's private key for an epoch, HPKE-wrapped to one approved staff device.
CREATE TABLE unit_key_grants (
    unit_id           TEXT NOT NULL,
    epoch             INTEGER NOT NULL,
    device_id         TEXT NOT NULL REFERENCES devices(id),
    enc               BLOB NOT NULL,
    ct                BLOB NOT NULL,
    granted_by_device TEXT NOT NULL REFERENCES devices(id),
    signature         BLOB NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (unit_id, epoch, device_id),
    FOREIGN KEY (unit_id, epoch) REFERENCES unit_key_epochs(unit_id, epoch)
);

-- ärende
CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    unit_id     TEXT NOT NULL REFERENCES units(id),
    citizen_id  TEXT NOT NULL REFERENCES users(id),
    assigned_to TEXT REFERENCES users(id),
    title       TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX cases_by_citizen ON cases(citizen_id);
CREATE INDEX cases_by_unit ON cases(unit_id);

CREATE TABLE case_key_epochs (
    case_id           TEXT NOT NULL REFERENCES cases(id),
    epoch             INTEGER NOT NULL,
    created_by_device TEXT NOT NULL REFERENCES devices(id),
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (case_id, epoch)
);

-- recipient is a device id, or 'unit:<unit epoch>' for the wrap to the unit key.
CREATE TABLE case_key_wraps (
    case_id           TEXT NOT NULL,
    epoch             INTEGER NOT NULL,
    recipient         TEXT NOT NULL,
    enc               BLOB NOT NULL,
    ct                BLOB NOT NULL,
    wrapped_by_device TEXT NOT NULL REFERENCES devices(id),
    signature         BLOB NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (case_id, epoch, recipient),
    FOREIGN KEY (case_id, epoch) REFERENCES case_key_epochs(case_id, epoch)
);

CREATE TABLE messages (
    case_id       TEXT NOT NULL REFERENCES cases(id),
    seq           INTEGER NOT NULL,
    msg_id        TEXT NOT NULL,
    sender_device TEXT NOT NULL REFERENCES devices(id),
    sender_user   TEXT NOT NULL REFERENCES users(id),
    envelope      BLOB NOT NULL,
    stored_at     INTEGER NOT NULL,
    PRIMARY KEY (case_id, seq),
    UNIQUE (case_id, msg_id)
) WITHOUT ROWID;

-- High-water marks: a user has had everything up to delivered_seq delivered, and has read up to read_seq.
CREATE TABLE receipts (
    case_id       TEXT NOT NULL REFERENCES cases(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    delivered_seq INTEGER NOT NULL DEFAULT 0,
    read_seq      INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (case_id, user_id)
) WITHOUT ROWID;

-- The session id itself is never stored; only its SHA-256.
CREATE TABLE sessions (
    id_hash      BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

-- Append-only record of refused attempts (the hash-chained audit log will build on it).
CREATE TABLE security_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    user_id   TEXT,
    device_id TEXT,
    case_id   TEXT,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER security_events_no_update BEFORE UPDATE ON security_events
BEGIN SELECT RAISE(ABORT, 'security_events is append-only'); END;
CREATE TRIGGER security_events_no_delete BEFORE DELETE ON security_events
BEGIN SELECT RAISE(ABORT, 'security_events is append-only'); END;
