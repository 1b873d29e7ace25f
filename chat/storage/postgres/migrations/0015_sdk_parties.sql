-- SDK parties, as SQLite's 0030.
CREATE TABLE sdk_parties (
    address      TEXT PRIMARY KEY,
    organisation TEXT NOT NULL,
    function     TEXT NOT NULL,
    label        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (organisation, function)
);
