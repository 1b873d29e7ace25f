-- A node that missed wake-ups on the bus asks which cases got messages since a moment (messages_stored_since,
-- chat/messaging/cluster.py): without this index that read scans every message ever stored.
CREATE INDEX messages_stored_at ON messages (stored_at);
