-- Ansökan (docs/applications.md): applications sent in Samtal or registered by staff from paper. What was
-- applied for, and what is asked and decided, are sealed records (ciphertext, crypto/record.py); the server
-- keeps which form, which case, the status, who did what and when, and the grants readers open them with.
CREATE TABLE applications (
    id           TEXT PRIMARY KEY,  -- the record id of the application's sealed record
    unit_id      TEXT NOT NULL REFERENCES units(id),
    case_id      TEXT NOT NULL REFERENCES cases(id),
    citizen_id   TEXT NOT NULL REFERENCES users(id),
    form_id      TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN
                   ('received', 'assessing', 'completion_requested', 'supplemented', 'decided')),
    submitted_by TEXT NOT NULL REFERENCES users(id),
    on_behalf    INTEGER NOT NULL CHECK (on_behalf IN (0, 1)),  -- staff registered it from paper
    opened_case  INTEGER NOT NULL CHECK (opened_case IN (0, 1)),  -- it opened its case, or joined one
    submitted_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    due_at       INTEGER  -- while completion is requested: by when (metadata; what is asked is sealed)
);
CREATE INDEX applications_by_unit ON applications(unit_id, updated_at);
CREATE INDEX applications_by_citizen ON applications(citizen_id, updated_at);
CREATE INDEX applications_by_case ON applications(case_id);

-- The sealed records of an application: the application itself, completion requests, the citizen's
-- supplements, the decision. Bytes as uploaded, checked (kind, unit, case, author device, signature).
CREATE TABLE application_records (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    kind           TEXT NOT NULL,
    author         TEXT NOT NULL REFERENCES users(id),
    author_device  TEXT NOT NULL REFERENCES devices(id),
    data           BLOB NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX application_records_by_application ON application_records(application_id);

-- How readers get a record's key: 'unit:<epoch>', a device id, or 'case:<epoch>'; signed by the granting device.
CREATE TABLE application_grants (
    record_id         TEXT NOT NULL REFERENCES application_records(id),
    recipient         TEXT NOT NULL,
    grant_data        BLOB NOT NULL,
    signature         BLOB NOT NULL,
    granted_by        TEXT NOT NULL REFERENCES users(id),
    granted_by_device TEXT NOT NULL REFERENCES devices(id),
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (record_id, recipient)
);

-- The status timeline: one row per step, oldest first; record_id names the sealed content of the step.
CREATE TABLE application_events (
    id             INTEGER PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    kind           TEXT NOT NULL CHECK (kind IN
                     ('received', 'assessing', 'completion_requested', 'supplemented', 'decided')),
    actor          TEXT NOT NULL REFERENCES users(id),
    on_behalf      INTEGER NOT NULL CHECK (on_behalf IN (0, 1)),
    record_id      TEXT REFERENCES application_records(id),
    due_at         INTEGER,
    at             INTEGER NOT NULL
);
CREATE INDEX application_events_by_application ON application_events(application_id, id);

-- Encrypted attachments of applications and supplements. Uploaded before the record that names them (whose
-- case may not exist yet), so they belong to the application id; attached_at is set when a record names
-- them, and those never attached are removed after a day.
CREATE TABLE application_blobs (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL REFERENCES users(id),
    size           INTEGER NOT NULL,
    data           BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    attached_at    INTEGER
);
CREATE INDEX application_blobs_by_application ON application_blobs(application_id);
CREATE INDEX application_blobs_unattached ON application_blobs(created_at) WHERE attached_at IS NULL;
