-- A case attachment is bound to the message that uses it: the sending client names the message's attachments
-- beside the envelope (the server cannot see inside it; docs/protocol.md §14.2 `send`), and they are bound in
-- the transaction that stores the message. One that no message names is removed after
-- SAMTAL_ORPHAN_BLOB_SECONDS. Attachments from before this migration count as bound: which message uses them
-- cannot be known now, and removing a used one would lose it.
ALTER TABLE blobs ADD COLUMN msg_id TEXT;
ALTER TABLE blobs ADD COLUMN attached_at INTEGER;
UPDATE blobs SET attached_at = created_at;
CREATE INDEX blobs_unattached ON blobs(created_at) WHERE attached_at IS NULL;
