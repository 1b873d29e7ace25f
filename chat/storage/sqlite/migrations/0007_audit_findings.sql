-- A log reviewer's (granskare) finding about one audit row: part of loggkontroll.
CREATE TABLE audit_findings (
    id         INTEGER PRIMARY KEY,
    unit_id    TEXT NOT NULL REFERENCES units(id),
    audit_id   INTEGER NOT NULL REFERENCES audit_log(id),
    reviewer   TEXT NOT NULL REFERENCES users(id),
    verdict    TEXT NOT NULL CHECK (verdict IN ('ok', 'question', 'violation')),
    note       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_findings_by_unit ON audit_findings(unit_id, created_at);
