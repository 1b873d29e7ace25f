-- vikarie: a substitute handles an absent caseworker's cases for a period (inclusive start, exclusive end).
CREATE TABLE substitutions (
    id          INTEGER PRIMARY KEY,
    unit_id     TEXT NOT NULL REFERENCES units(id),
    absent_user TEXT NOT NULL REFERENCES users(id),
    substitute  TEXT NOT NULL REFERENCES users(id),
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    CHECK (ends_at > starts_at),
    CHECK (absent_user != substitute)
);
CREATE INDEX substitutions_by_unit ON substitutions(unit_id, ends_at);
