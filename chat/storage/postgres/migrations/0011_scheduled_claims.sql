-- Scheduled work claimed per item, as SQLite's 0026.
CREATE TABLE scheduled_claims (
    kind        TEXT NOT NULL,
    item        TEXT NOT NULL,
    node        TEXT NOT NULL,
    claimed_at  BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (kind, item)
);
CREATE INDEX scheduled_claims_finished ON scheduled_claims (finished_at);
