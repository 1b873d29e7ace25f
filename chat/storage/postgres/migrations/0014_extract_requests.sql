-- Register extract requests, as SQLite's 0029.
CREATE TABLE extract_requests (
    id           TEXT PRIMARY KEY,
    citizen_id   TEXT NOT NULL REFERENCES users(id),
    unit_id      TEXT REFERENCES units(id),
    requested_by TEXT NOT NULL REFERENCES users(id),
    on_behalf    BIGINT NOT NULL CHECK (on_behalf IN (0, 1)),
    requested_at BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    parent_id    TEXT REFERENCES extract_requests(id),
    delivered_at BIGINT,
    delivered_by TEXT REFERENCES users(id)
);
CREATE INDEX extract_requests_citizen ON extract_requests (citizen_id, requested_at);
CREATE INDEX extract_requests_unit ON extract_requests (unit_id, delivered_at, due_at);
