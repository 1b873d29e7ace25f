-- Representatives and guardians (chat/cases/mandates.py, docs/representatives.md): a mandate by which `holder`
-- acts for `citizen` in one case, within its scopes and period; ended early by staff (ended_at), and settled
-- once its end was acted on (the case key rotated away from the holder's devices, live connections cut).
CREATE TABLE mandates (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id           TEXT NOT NULL REFERENCES cases(id),
    holder            TEXT NOT NULL REFERENCES users(id),
    citizen           TEXT NOT NULL REFERENCES users(id),
    kind              TEXT NOT NULL,
    basis             TEXT NOT NULL,
    basis_reference   TEXT NOT NULL,
    document_blob     TEXT,
    scopes            TEXT NOT NULL,
    starts_at         INTEGER NOT NULL,
    ends_at           INTEGER NOT NULL,
    created_by        TEXT NOT NULL REFERENCES users(id),
    created_at        INTEGER NOT NULL,
    ended_at          INTEGER,
    ended_by          TEXT REFERENCES users(id),
    child_speaks_from INTEGER,
    settled_at        INTEGER
);
CREATE INDEX mandates_case ON mandates (case_id);
CREATE INDEX mandates_holder ON mandates (holder);
CREATE INDEX mandates_citizen ON mandates (citizen);
CREATE INDEX mandates_unsettled ON mandates (settled_at, ends_at);
-- A published journal entry withheld from the case's guardians after a harm assessment (DOMAIN rule 5).
CREATE TABLE withheld_entries (
    entry_id    TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    reason      TEXT NOT NULL,
    withheld_by TEXT NOT NULL REFERENCES users(id),
    withheld_at INTEGER NOT NULL
);
CREATE INDEX withheld_entries_case ON withheld_entries (case_id);
