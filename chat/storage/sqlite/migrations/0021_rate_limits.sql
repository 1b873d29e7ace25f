-- Rate limits every server process shares (the sign-in limit per client address): one token bucket per key,
-- the key a keyed hash (never an address). A bucket untouched for a minute is full again, and forgotten.
CREATE TABLE rate_limits (
    key_hash BLOB PRIMARY KEY,
    tokens   REAL NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX rate_limits_at ON rate_limits (at);
