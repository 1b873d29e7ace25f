-- Beslut as a document, as SQLite's 0027_decisions.sql: who decided and when, how the decision reached the
-- citizen and the day they received it (delgivning); its content is the sealed record, never here.
CREATE TABLE application_decisions (
    id              TEXT PRIMARY KEY REFERENCES application_records(id) DEFERRABLE,
    application_id  TEXT NOT NULL REFERENCES applications(id) DEFERRABLE,
    case_id         TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    unit_id         TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    decided_by      TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    decided_device  TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    decided_at      BIGINT NOT NULL,
    replaces        TEXT REFERENCES application_decisions(id) DEFERRABLE,
    delivery        TEXT NOT NULL DEFAULT 'app' CHECK (delivery IN ('app', 'post')),
    posted_at       BIGINT,
    posted_by       TEXT REFERENCES users(id) DEFERRABLE,
    received_at     BIGINT,
    received_via    TEXT CHECK (received_via IN ('app', 'staff')),
    received_device TEXT REFERENCES devices(id) DEFERRABLE,
    received_by     TEXT REFERENCES users(id) DEFERRABLE
);
CREATE INDEX application_decisions_by_application ON application_decisions(application_id, decided_at);
CREATE INDEX application_decisions_by_case ON application_decisions(case_id);
