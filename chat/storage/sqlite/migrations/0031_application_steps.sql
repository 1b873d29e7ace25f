-- Kommunicering, withdrawal, reopening and appeals are steps of an application (docs/applications.md): the
-- list of statuses and step kinds is the service's (chat/applications/service.py STATUSES, STEPS), so these
-- columns lose their CHECK lists, and a step gets `detail`: its metadata as JSON (how kommunicering was done,
-- whether an appeal came in time, which decision it is about), never what anyone wrote, which stays sealed.
-- SQLite cannot drop a CHECK, so both tables are rebuilt (its documented 12 steps: the runner turns foreign
-- keys off for migrations and checks them before each commits).
CREATE TABLE applications_new (
    id           TEXT PRIMARY KEY,
    unit_id      TEXT NOT NULL REFERENCES units(id),
    case_id      TEXT NOT NULL REFERENCES cases(id),
    citizen_id   TEXT NOT NULL REFERENCES users(id),
    form_id      TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    status       TEXT NOT NULL,
    submitted_by TEXT NOT NULL REFERENCES users(id),
    on_behalf    INTEGER NOT NULL CHECK (on_behalf IN (0, 1)),
    opened_case  INTEGER NOT NULL CHECK (opened_case IN (0, 1)),
    submitted_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    due_at       INTEGER  -- while the citizen is asked something (completion, kommunicering): by when
);
INSERT INTO applications_new SELECT id, unit_id, case_id, citizen_id, form_id, form_version, status, submitted_by,
    on_behalf, opened_case, submitted_at, updated_at, due_at FROM applications;
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
CREATE INDEX applications_by_unit ON applications(unit_id, updated_at);
CREATE INDEX applications_by_citizen ON applications(citizen_id, updated_at);
CREATE INDEX applications_by_case ON applications(case_id);

CREATE TABLE application_events_new (
    id             INTEGER PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    kind           TEXT NOT NULL,
    actor          TEXT NOT NULL REFERENCES users(id),
    on_behalf      INTEGER NOT NULL CHECK (on_behalf IN (0, 1)),
    record_id      TEXT REFERENCES application_records(id),
    due_at         INTEGER,
    at             INTEGER NOT NULL,
    detail         TEXT  -- JSON metadata of the step, or NULL
);
INSERT INTO application_events_new (id, application_id, kind, actor, on_behalf, record_id, due_at, at)
    SELECT id, application_id, kind, actor, on_behalf, record_id, due_at, at FROM application_events;
DROP TABLE application_events;
ALTER TABLE application_events_new RENAME TO application_events;
CREATE INDEX application_events_by_application ON application_events(application_id, id);
