-- The agency exchange (docs/exchange.md): the directory of functional addresses and their public keys,
-- the messages (signed envelope, encrypted content), their signed receipts, and used bearer token ids.
CREATE TABLE exchange_addresses (
    address         TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('agency', 'unit')),
    name            TEXT NOT NULL,
    unit_id         TEXT REFERENCES units(id),
    document_types  TEXT NOT NULL DEFAULT '[]',   -- JSON list
    max_bytes       INTEGER NOT NULL,
    rate_per_minute INTEGER NOT NULL,
    oncall          TEXT NOT NULL DEFAULT '[]',   -- JSON list of e-mail addresses; never published
    created_at      INTEGER NOT NULL,
    CHECK ((kind = 'unit') = (unit_id IS NOT NULL))
);
CREATE TABLE exchange_keys (
    kid        TEXT PRIMARY KEY,
    address    TEXT NOT NULL REFERENCES exchange_addresses(address),
    use        TEXT NOT NULL CHECK (use IN ('sig', 'enc')),
    jwk        TEXT NOT NULL,                     -- the public JWK, never a private part
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE INDEX exchange_keys_by_address ON exchange_keys(address);
CREATE TABLE exchange_messages (
    id              INTEGER PRIMARY KEY,
    msg_id          TEXT NOT NULL UNIQUE,
    sender          TEXT NOT NULL REFERENCES exchange_addresses(address),
    recipient       TEXT NOT NULL REFERENCES exchange_addresses(address),
    conversation    TEXT NOT NULL,
    in_reply_to     TEXT,
    doc_type        TEXT NOT NULL,
    priority        TEXT NOT NULL,
    label           TEXT NOT NULL,
    created         INTEGER NOT NULL,
    expires         INTEGER NOT NULL,
    envelope        TEXT NOT NULL,                -- the compact JWS as sent
    envelope_sha256 TEXT NOT NULL,
    content         TEXT NOT NULL,                -- the compact JWE as sent
    stored_at       INTEGER NOT NULL,
    audit_id        INTEGER NOT NULL,
    acked_at        INTEGER,
    alerted_at      INTEGER
);
CREATE INDEX exchange_messages_by_recipient ON exchange_messages(recipient, acked_at);
CREATE TABLE exchange_receipts (
    id         INTEGER PRIMARY KEY,
    message    INTEGER NOT NULL REFERENCES exchange_messages(id),
    status     TEXT NOT NULL CHECK (status IN ('received', 'accepted', 'rejected', 'read')),
    jws        TEXT NOT NULL,
    at         INTEGER NOT NULL,
    audit_id   INTEGER NOT NULL,
    by_user    TEXT
);
CREATE INDEX exchange_receipts_by_message ON exchange_receipts(message, id);
CREATE TABLE exchange_token_ids (
    address    TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (address, jti)
);
