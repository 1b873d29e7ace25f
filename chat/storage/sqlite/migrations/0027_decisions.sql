-- Beslut as a document (docs/applications.md, "The decision"): one row per decision on an application. What
-- was decided (the outcome per item, amounts, period, reasons, legal basis, delegation, appeal guidance) is
-- the sealed record `id` (kind application.decision) and never here; the server keeps who decided and when,
-- how it reached the citizen, and the day they received it (delgivning), from which the three weeks to appeal
-- run (FL 44 §). A later decision that changes an earlier one names it in `replaces` (the old stays readable).
CREATE TABLE application_decisions (
    id              TEXT PRIMARY KEY REFERENCES application_records(id),  -- the sealed decision record
    application_id  TEXT NOT NULL REFERENCES applications(id),
    case_id         TEXT NOT NULL REFERENCES cases(id),
    unit_id         TEXT NOT NULL REFERENCES units(id),
    decided_by      TEXT NOT NULL REFERENCES users(id),
    decided_device  TEXT NOT NULL REFERENCES devices(id),       -- the staff device that signed it
    decided_at      INTEGER NOT NULL,
    replaces        TEXT REFERENCES application_decisions(id),
    delivery        TEXT NOT NULL DEFAULT 'app' CHECK (delivery IN ('app', 'post')),
    posted_at       INTEGER,                                    -- sent on paper by post: the day (ms, local midnight)
    posted_by       TEXT REFERENCES users(id),
    received_at     INTEGER,                                    -- delgivning: the citizen received it (ms)
    received_via    TEXT CHECK (received_via IN ('app', 'staff')),  -- a device of theirs opened it / staff recorded it
    received_device TEXT REFERENCES devices(id),
    received_by     TEXT REFERENCES users(id)                   -- who recorded it (the citizen, or staff for paper)
);
CREATE INDEX application_decisions_by_application ON application_decisions(application_id, decided_at);
CREATE INDEX application_decisions_by_case ON application_decisions(case_id);
