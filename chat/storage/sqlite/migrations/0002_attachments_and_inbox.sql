-- Attachments: ciphertext only, encrypted in the browser under a key that travels inside the signed,
-- encrypted message that refers to it.
CREATE TABLE blobs (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX blobs_by_case ON blobs(case_id);

-- A caseworker marks a conversation handled; a later citizen message makes it wait again.
CREATE TABLE case_state (
    case_id    TEXT PRIMARY KEY REFERENCES cases(id),
    handled_at INTEGER,
    handled_by TEXT REFERENCES users(id)
) WITHOUT ROWID;
