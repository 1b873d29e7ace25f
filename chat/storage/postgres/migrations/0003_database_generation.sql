-- As SQLite's migration 0018: the database's generation, a random id new on create (and on restore), that
-- clients compare to know their seq cursors belong to this database's history; probed_at: /readyz's probe.
CREATE TABLE database_generation (
    singleton  BIGINT PRIMARY KEY CHECK (singleton = 1),
    generation TEXT NOT NULL,
    since      BIGINT NOT NULL,
    probed_at  BIGINT
);
INSERT INTO database_generation (singleton, generation, since)
    VALUES (1, md5(random()::text || clock_timestamp()::text), (extract(epoch FROM now()) * 1000)::bigint);
