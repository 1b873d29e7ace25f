-- Dokumentation (docs/documentation.md): the case's journal. What is written is a sealed record (ciphertext,
-- crypto/record.py); the server keeps who wrote and signed what when, which version, whether the citizen may
-- read it (published), the citizen's supplements, comments and disputes, and the grants readers open them with.
CREATE TABLE journal_entries (
    id           TEXT PRIMARY KEY,  -- chosen by the browser: the record id of the entry's first version
    case_id      TEXT NOT NULL REFERENCES cases(id),
    unit_id      TEXT NOT NULL REFERENCES units(id),
    author       TEXT NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'signed')),
    signed_by    TEXT REFERENCES users(id),
    signed_at    INTEGER,
    published_by TEXT REFERENCES users(id),  -- who judged that the citizen may read it
    published_at INTEGER,
    source_seq   INTEGER,  -- filed from this message of the case
    updated_at   INTEGER NOT NULL,
    CHECK ((status = 'signed') = (signed_at IS NOT NULL)),
    CHECK (published_at IS NULL OR status = 'signed')
);
CREATE INDEX journal_entries_by_case ON journal_entries(case_id, created_at);

-- A signed entry stays signed, by whom and when; once published it stays published (the citizen may have read
-- it). Only a draft is deleted. Defence in depth: chat/journal.py refuses these before SQL is reached.
CREATE TRIGGER journal_entries_signed_stay BEFORE UPDATE ON journal_entries
WHEN OLD.status = 'signed' AND (NEW.status IS NOT 'signed' OR NEW.signed_by IS NOT OLD.signed_by
    OR NEW.signed_at IS NOT OLD.signed_at OR NEW.author IS NOT OLD.author OR NEW.case_id IS NOT OLD.case_id
    OR NEW.unit_id IS NOT OLD.unit_id OR NEW.created_at IS NOT OLD.created_at
    OR NEW.source_seq IS NOT OLD.source_seq OR NEW.id IS NOT OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'signed journal entries cannot change');
END;
CREATE TRIGGER journal_entries_published_stay BEFORE UPDATE ON journal_entries
WHEN OLD.published_at IS NOT NULL AND (NEW.published_at IS NOT OLD.published_at
    OR NEW.published_by IS NOT OLD.published_by)
BEGIN
    SELECT RAISE(ABORT, 'a published journal entry stays published');
END;
CREATE TRIGGER journal_entries_signed_not_deleted BEFORE DELETE ON journal_entries
WHEN OLD.status = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'signed journal entries cannot change');
END;

-- The versions of an entry, 1.. . A draft has exactly one, replaced when the draft is saved again; signing
-- freezes it; a correction (rättelse) adds the next version, signed at once.
CREATE TABLE journal_versions (
    entry_id      TEXT NOT NULL REFERENCES journal_entries(id),
    version       INTEGER NOT NULL CHECK (version >= 1),
    record_id     TEXT NOT NULL UNIQUE,
    author        TEXT NOT NULL REFERENCES users(id),
    author_device TEXT NOT NULL REFERENCES devices(id),
    data          BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    signed_at     INTEGER,
    PRIMARY KEY (entry_id, version)
);
CREATE TRIGGER journal_versions_signed_no_update BEFORE UPDATE ON journal_versions
WHEN OLD.signed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'signed journal versions cannot change');
END;
CREATE TRIGGER journal_versions_signed_no_delete BEFORE DELETE ON journal_versions
WHEN OLD.signed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'signed journal versions cannot change');
END;

-- The citizen's supplements (tillägg), comments on a draft shared live, disputes of a published entry, and the
-- unit's responses to disputes. A remark is never changed, except that a dispute gets answered once.
CREATE TABLE journal_remarks (
    id            TEXT PRIMARY KEY,  -- the record id
    case_id       TEXT NOT NULL REFERENCES cases(id),
    entry_id      TEXT,  -- NULL: a supplement to the whole case; not a foreign key: a draft commented on may go
    kind          TEXT NOT NULL CHECK (kind IN ('supplement', 'comment', 'dispute', 'response')),
    responds_to   TEXT REFERENCES journal_remarks(id),
    author        TEXT NOT NULL REFERENCES users(id),
    author_device TEXT NOT NULL REFERENCES devices(id),
    data          BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    answered_by   TEXT REFERENCES users(id),
    answered_at   INTEGER,
    CHECK ((kind = 'response') = (responds_to IS NOT NULL))
);
CREATE INDEX journal_remarks_by_case ON journal_remarks(case_id, created_at);
CREATE TRIGGER journal_remarks_stay BEFORE UPDATE ON journal_remarks
WHEN NEW.id IS NOT OLD.id OR NEW.case_id IS NOT OLD.case_id OR NEW.entry_id IS NOT OLD.entry_id
    OR NEW.kind IS NOT OLD.kind OR NEW.responds_to IS NOT OLD.responds_to OR NEW.author IS NOT OLD.author
    OR NEW.author_device IS NOT OLD.author_device OR NEW.data IS NOT OLD.data OR NEW.created_at IS NOT OLD.created_at
    OR OLD.answered_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'journal remarks cannot change');
END;
CREATE TRIGGER journal_remarks_not_deleted BEFORE DELETE ON journal_remarks
BEGIN
    SELECT RAISE(ABORT, 'journal remarks cannot change');
END;

-- How readers get a record's key: 'unit:<epoch>' (the unit's staff) or 'case:<epoch>' (every device of the
-- case, the citizen's included: published). Signed by the granting device. Grants are added, never changed;
-- only those of a draft's replaced or deleted version go.
CREATE TABLE journal_grants (
    record_id         TEXT NOT NULL,  -- a version's or a remark's record id
    recipient         TEXT NOT NULL,
    grant_data        BLOB NOT NULL,
    signature         BLOB NOT NULL,
    granted_by        TEXT NOT NULL REFERENCES users(id),
    granted_by_device TEXT NOT NULL REFERENCES devices(id),
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (record_id, recipient)
);
CREATE TRIGGER journal_grants_no_update BEFORE UPDATE ON journal_grants
BEGIN
    SELECT RAISE(ABORT, 'journal grants cannot change');
END;
CREATE TRIGGER journal_grants_kept BEFORE DELETE ON journal_grants
WHEN EXISTS (SELECT 1 FROM journal_versions WHERE record_id = OLD.record_id AND signed_at IS NOT NULL)
    OR EXISTS (SELECT 1 FROM journal_remarks WHERE id = OLD.record_id)
BEGIN
    SELECT RAISE(ABORT, 'signed journal versions cannot change');
END;

-- Encrypted attachments of the citizen's supplements, uploaded before the record that names them; attached_at
-- is set when one does, and those never attached are removed after a day.
CREATE TABLE journal_blobs (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    attached_at INTEGER
);
CREATE INDEX journal_blobs_by_case ON journal_blobs(case_id);
CREATE INDEX journal_blobs_unattached ON journal_blobs(created_at) WHERE attached_at IS NULL;
