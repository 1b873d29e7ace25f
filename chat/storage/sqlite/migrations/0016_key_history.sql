-- History links (docs/protocol.md section 17): a newer unit or case key epoch seals an older one, so that a
-- device given the newest epoch opens every older one. Signed by the device that made the link; the server
-- cannot open a link (it holds no key) and keeps the first link for each pair of epochs.
CREATE TABLE key_history_links (
    kind          TEXT NOT NULL CHECK (kind IN ('unit', 'case')),
    target_id     TEXT NOT NULL,            -- the unit id, or the case id
    unit_id       TEXT NOT NULL REFERENCES units(id),
    epoch         INTEGER NOT NULL,         -- the newer epoch, whose key opens the link
    sealed_epoch  INTEGER NOT NULL CHECK (sealed_epoch >= 1 AND sealed_epoch < epoch),
    link          BLOB NOT NULL,
    signer_device TEXT NOT NULL REFERENCES devices(id),
    signature     BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (kind, target_id, epoch, sealed_epoch)
);
CREATE INDEX key_history_links_by_unit ON key_history_links(unit_id, kind);
