-- The database's generation (chat/storage/sqlite/generation.py): a random id, new on create and on restore,
-- that clients compare to know their seq cursors belong to this database's history. probed_at: /readyz's
-- write probe.
CREATE TABLE IF NOT EXISTS database_generation (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    generation TEXT NOT NULL,
    since      INTEGER NOT NULL,
    probed_at  INTEGER
);
INSERT OR IGNORE INTO database_generation (singleton, generation, since)
    VALUES (1, lower(hex(randomblob(16))), CAST(strftime('%s', 'now') AS INTEGER) * 1000);
