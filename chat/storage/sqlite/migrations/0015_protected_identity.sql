-- Skyddade personuppgifter: citizens whose identity is protected (sekretessmarkering, skyddad
-- folkbokföring), flagged by a supervisor of a unit with one of their cases. Who flagged and when; the
-- audit log keeps every change.
CREATE TABLE protected_identities (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    set_by  TEXT NOT NULL REFERENCES users(id),
    set_at  INTEGER NOT NULL
) WITHOUT ROWID;
