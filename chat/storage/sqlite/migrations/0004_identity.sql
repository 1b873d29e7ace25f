-- Sign-in through OpenID Connect. Who a sign-in maps to is kept only as a keyed hash (HMAC-SHA256 under a
-- server secret) of the identity: a citizen's personal identity number, a staff member's issuer and subject.
-- The number itself is never stored.
CREATE TABLE identities (
    identity_hash BLOB PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('citizen', 'staff')),
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX identities_by_user ON identities(user_id);

-- One authorization request in flight: state (stored as its SHA-256), nonce and PKCE verifier, bound to the
-- browser that started it. Used at most once; kept a day after, so that a replay is told apart.
CREATE TABLE login_attempts (
    state_hash    BLOB PRIMARY KEY,
    kind          TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    binding_hash  BLOB NOT NULL,
    next_path     TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    used_at       INTEGER
) WITHOUT ROWID;
CREATE INDEX login_attempts_by_age ON login_attempts(created_at);
