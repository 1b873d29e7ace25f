-- As SQLite's migration 0025: a case attachment is bound to the message that names it; one no message names
-- is removed after SAMTAL_ORPHAN_BLOB_SECONDS. Attachments from before count as bound.
ALTER TABLE blobs ADD COLUMN msg_id TEXT;
ALTER TABLE blobs ADD COLUMN attached_at BIGINT;
UPDATE blobs SET attached_at = created_at;
CREATE INDEX blobs_unattached ON blobs(created_at) WHERE attached_at IS NULL;
