-- Where the kept audit log starts after old rows were removed at the end of their retention period: the id
-- and hash of the last removed row, so that the chain of the remaining rows can still be verified.
CREATE TABLE audit_anchor (
    singleton       INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_pruned_id  INTEGER NOT NULL,
    last_pruned_hash BLOB NOT NULL,
    pruned_at       INTEGER NOT NULL
);
