-- Exchange address private keys wrapped to the unit key (docs/exchange.md, Address keys in staff browsers):
-- HPKE-sealed to a unit key epoch's public key by a staff device, which signs the wrap. The server stores
-- the wrap only; it holds no unit key and cannot open it.
CREATE TABLE exchange_address_key_wraps (
    kid               TEXT NOT NULL REFERENCES exchange_keys(kid),
    unit_epoch        INTEGER NOT NULL,
    address           TEXT NOT NULL REFERENCES exchange_addresses(address),
    unit_id           TEXT NOT NULL REFERENCES units(id),
    key_version       INTEGER NOT NULL,
    enc               BLOB NOT NULL,
    ct                BLOB NOT NULL,
    wrapped_by_device TEXT NOT NULL REFERENCES devices(id),
    signature         BLOB NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (kid, unit_epoch)
);
CREATE INDEX exchange_address_key_wraps_by_unit ON exchange_address_key_wraps(unit_id, unit_epoch);
