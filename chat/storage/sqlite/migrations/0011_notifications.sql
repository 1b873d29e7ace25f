-- Notifications by e-mail (chat/notifications.py, docs/notifications.md): what waits unseen for a person, their
-- choice, and when they were last mailed; and a unit's own settings (its video meeting link).

-- A person's choice: e-mail when something new waits (off until they turn it on), and their language.
CREATE TABLE notification_settings (
    user_id      TEXT PRIMARY KEY REFERENCES users(id),
    email_opt_in INTEGER NOT NULL DEFAULT 0 CHECK (email_opt_in IN (0, 1)),
    language     TEXT CHECK (language IN ('sv', 'en')),  -- NULL: not chosen (Swedish, English below)
    updated_at   INTEGER NOT NULL
);

-- Something new in a case that none of the person's devices has received yet: one row per person, case and
-- kind (message, booking, ...), however many things of that kind came. No content, no sender.
CREATE TABLE notifications_waiting (
    user_id TEXT NOT NULL REFERENCES users(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind    TEXT NOT NULL,
    since   INTEGER NOT NULL,  -- when the oldest unseen thing came: the grace period runs from here
    seq     INTEGER,           -- messages: the newest seq waiting; seen once the person's receipt reaches it
    PRIMARY KEY (user_id, case_id, kind)
) WITHOUT ROWID;

-- The throttle: when the person was last mailed.
CREATE TABLE notification_mails (
    user_id      TEXT PRIMARY KEY REFERENCES users(id),
    last_sent_at INTEGER NOT NULL
);

-- A unit's own settings, set by its supervisor on /unit. NULL: the server's setting applies.
CREATE TABLE unit_settings (
    unit_id             TEXT PRIMARY KEY REFERENCES units(id),
    video_link_template TEXT,
    updated_by          TEXT NOT NULL REFERENCES users(id),
    updated_at          INTEGER NOT NULL
);
