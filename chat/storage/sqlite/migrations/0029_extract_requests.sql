-- Register extract requests (GDPR art. 15, chat/storage/extracts.py): when each was asked for, by whom, for
-- which unit's part (NULL: all, the citizen's own request in the app), its due date (a month, art. 12.3) and
-- its delivery. No content: the extract itself is made on the person's device or printed at the desk.
CREATE TABLE extract_requests (
    id           TEXT PRIMARY KEY,
    citizen_id   TEXT NOT NULL REFERENCES users(id),
    unit_id      TEXT REFERENCES units(id),
    requested_by TEXT NOT NULL REFERENCES users(id),
    on_behalf    INTEGER NOT NULL CHECK (on_behalf IN (0, 1)),
    requested_at INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    parent_id    TEXT REFERENCES extract_requests(id),
    delivered_at INTEGER,
    delivered_by TEXT REFERENCES users(id)
);
CREATE INDEX extract_requests_citizen ON extract_requests (citizen_id, requested_at);
CREATE INDEX extract_requests_unit ON extract_requests (unit_id, delivered_at, due_at);
