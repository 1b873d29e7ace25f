-- Retention and deletion (gallring, docs/retention.md). Rules per unit and record kind (none: the default,
-- five years after the last entry in the person's file in the unit, SoL 2025:400); a legal hold on a case;
-- the research sample flag, derived from the personal identity number when the account is made (the number
-- itself is never stored); and the deletion register: what kind of record, which rule, when, how many. The
-- register names no case and no person, so it holds no personal data and no content.
CREATE TABLE retention_rules (
    unit_id     TEXT NOT NULL,      -- '*' for every unit without a rule of its own for the kind
    record_kind TEXT NOT NULL,      -- message, attachment, journal, application, booking
    keep_years  INTEGER,            -- NULL: never deleted (records that must be kept)
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (unit_id, record_kind)
);
CREATE TABLE legal_holds (
    case_id    TEXT PRIMARY KEY REFERENCES cases(id),
    reason     TEXT NOT NULL,
    set_at     INTEGER NOT NULL,
    set_by     TEXT NOT NULL REFERENCES users(id)
);
CREATE TABLE research_sample (
    user_id    TEXT PRIMARY KEY REFERENCES users(id),
    in_sample  INTEGER NOT NULL,    -- 1: born on the 5th, 15th or 25th (never deleted); 0: not
    derived_at INTEGER NOT NULL
);
CREATE TABLE retention_register (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    unit_id     TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    rule        TEXT NOT NULL,      -- e.g. unit:message:5y, default:journal:5y, audit:1826d
    count       INTEGER NOT NULL,
    automated   INTEGER NOT NULL    -- 1: done by the scheduled job under the rule, no person decided it
);
CREATE INDEX retention_register_at ON retention_register (at);

-- Signed journal entries, their versions, grants and the citizen's remarks are never changed or deleted by
-- anyone, except by the deletion job at the end of their retention period: it puts a row here at the start of
-- its transaction and takes it out before the commit, so no other transaction ever sees one.
CREATE TABLE retention_deleting (singleton INTEGER PRIMARY KEY CHECK (singleton = 1));
DROP TRIGGER journal_entries_signed_not_deleted;
CREATE TRIGGER journal_entries_signed_not_deleted BEFORE DELETE ON journal_entries
WHEN OLD.status = 'signed' AND NOT EXISTS (SELECT 1 FROM retention_deleting)
BEGIN
    SELECT RAISE(ABORT, 'signed journal entries cannot change');
END;
DROP TRIGGER journal_versions_signed_no_delete;
CREATE TRIGGER journal_versions_signed_no_delete BEFORE DELETE ON journal_versions
WHEN OLD.signed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM retention_deleting)
BEGIN
    SELECT RAISE(ABORT, 'signed journal versions cannot change');
END;
DROP TRIGGER journal_remarks_not_deleted;
CREATE TRIGGER journal_remarks_not_deleted BEFORE DELETE ON journal_remarks
WHEN NOT EXISTS (SELECT 1 FROM retention_deleting)
BEGIN
    SELECT RAISE(ABORT, 'journal remarks cannot change');
END;
DROP TRIGGER journal_grants_kept;
CREATE TRIGGER journal_grants_kept BEFORE DELETE ON journal_grants
WHEN (EXISTS (SELECT 1 FROM journal_versions WHERE record_id = OLD.record_id AND signed_at IS NOT NULL)
    OR EXISTS (SELECT 1 FROM journal_remarks WHERE id = OLD.record_id))
    AND NOT EXISTS (SELECT 1 FROM retention_deleting)
BEGIN
    SELECT RAISE(ABORT, 'signed journal versions cannot change');
END;
