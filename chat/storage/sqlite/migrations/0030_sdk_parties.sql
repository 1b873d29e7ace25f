-- SDK parties (chat/storage/sdk.py): which SDK organisation and functional address an exchange address stands
-- for, so that a unit's reply to an SDK message goes back to its sender.
CREATE TABLE sdk_parties (
    address      TEXT PRIMARY KEY,
    organisation TEXT NOT NULL,
    function     TEXT NOT NULL,
    label        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (organisation, function)
);
