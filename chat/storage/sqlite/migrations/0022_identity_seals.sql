-- The unit identity key passed between the unit's supervisors' devices (docs/protocol.md §18, Holders): its
-- 32-byte seed HPKE-sealed to one staff device and signed by the identity key itself. The server keeps
-- ciphertext only; a device takes its own seal and opens it.
CREATE TABLE unit_identity_seals (
    unit_id           TEXT NOT NULL REFERENCES units(id),
    identity_key      BLOB NOT NULL,
    device_id         TEXT NOT NULL REFERENCES devices(id),
    enc               BLOB NOT NULL,
    ct                BLOB NOT NULL,
    signature         BLOB NOT NULL,
    sealed_by_device  TEXT NOT NULL REFERENCES devices(id),
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (unit_id, identity_key, device_id)
);
