-- As SQLite's migration 0022: the unit identity seed sealed to each supervisor device that holds it
-- (docs/protocol.md §18, Holders).
CREATE TABLE unit_identity_seals (
    unit_id           TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    identity_key      BYTEA NOT NULL,
    device_id         TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    enc               BYTEA NOT NULL,
    ct                BYTEA NOT NULL,
    signature         BYTEA NOT NULL,
    sealed_by_device  TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (unit_id, identity_key, device_id)
);
