-- Scheduled work claimed per item (chat/storage/schedule.py): a booking's reminder, a person's notification
-- mail, an urgent message's alert is done by one server process; an unfinished claim past its lease is taken
-- over (the process that made it died).
CREATE TABLE scheduled_claims (
    kind        TEXT NOT NULL,
    item        TEXT NOT NULL,
    node        TEXT NOT NULL,
    claimed_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (kind, item)
);
CREATE INDEX scheduled_claims_finished ON scheduled_claims (finished_at);
