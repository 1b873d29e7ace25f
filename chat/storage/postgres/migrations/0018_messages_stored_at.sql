-- As SQLite's 0033: the catch-up read of a node that missed wake-ups (messages_stored_since) by stored_at.
CREATE INDEX messages_stored_at ON messages (stored_at);
