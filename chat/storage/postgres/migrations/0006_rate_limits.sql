-- Rate limits every server process shares, as SQLite's 0021: one token bucket per keyed hash of the key.
CREATE TABLE rate_limits (
    key_hash BYTEA PRIMARY KEY,
    tokens   DOUBLE PRECISION NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX rate_limits_at ON rate_limits (at);
