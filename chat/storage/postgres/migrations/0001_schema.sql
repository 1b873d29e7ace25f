-- The PostgreSQL schema as of SQLite's migration 0016: the same tables, columns, keys, checks and
-- triggers (chat/storage/sqlite/migrations/ says why each exists), in PostgreSQL's types: BIGINT for every
-- integer (times are milliseconds), BYTEA for bytes, identity columns where SQLite gave rowids. Triggers
-- raise integrity_constraint_violation, as SQLite's RAISE(ABORT) raises a constraint error. Foreign keys are
-- DEFERRABLE (checked at once unless a transaction defers them) so that `samtal db copy` can load tables in
-- any order.
-- ===== as SQLite's migration 0001_initial.sql
-- Samtal schema, version 1. Content is ciphertext only; everything else here is metadata the server needs.
CREATE TABLE municipalities (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

-- enhet: the trust boundary for case data.
CREATE TABLE units (
    id              TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id) DEFERRABLE,
    name            TEXT NOT NULL
);

CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN
                   ('citizen', 'caseworker', 'supervisor', 'unit_admin', 'log_reviewer', 'agency')),
    unit_id      TEXT REFERENCES units(id) DEFERRABLE,
    created_at   BIGINT NOT NULL
);

-- Public keys only: private keys never reach the server.
CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    sign_pub   BYTEA NOT NULL,
    kem_pub    BYTEA NOT NULL,
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX devices_by_user ON devices(user_id);

CREATE TABLE unit_key_epochs (
    unit_id           TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    epoch             BIGINT NOT NULL,
    public_key        BYTEA NOT NULL,
    created_by_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    signature         BYTEA NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (unit_id, epoch)
);

-- The unit's private key for an epoch, HPKE-wrapped to one approved staff device.
CREATE TABLE unit_key_grants (
    unit_id           TEXT NOT NULL,
    epoch             BIGINT NOT NULL,
    device_id         TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    enc               BYTEA NOT NULL,
    ct                BYTEA NOT NULL,
    granted_by_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    signature         BYTEA NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (unit_id, epoch, device_id),
    FOREIGN KEY (unit_id, epoch) REFERENCES unit_key_epochs(unit_id, epoch) DEFERRABLE
);

-- ärende
CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    unit_id     TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    citizen_id  TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    assigned_to TEXT REFERENCES users(id) DEFERRABLE,
    title       TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at  BIGINT NOT NULL
);
CREATE INDEX cases_by_citizen ON cases(citizen_id);
CREATE INDEX cases_by_unit ON cases(unit_id);

CREATE TABLE case_key_epochs (
    case_id           TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    epoch             BIGINT NOT NULL,
    created_by_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (case_id, epoch)
);

-- recipient is a device id, or 'unit:<unit epoch>' for the wrap to the unit key.
CREATE TABLE case_key_wraps (
    case_id           TEXT NOT NULL,
    epoch             BIGINT NOT NULL,
    recipient         TEXT NOT NULL,
    enc               BYTEA NOT NULL,
    ct                BYTEA NOT NULL,
    wrapped_by_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    signature         BYTEA NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (case_id, epoch, recipient),
    FOREIGN KEY (case_id, epoch) REFERENCES case_key_epochs(case_id, epoch) DEFERRABLE
);

CREATE TABLE messages (
    case_id       TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    seq           BIGINT NOT NULL,
    msg_id        TEXT NOT NULL,
    sender_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    sender_user   TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    envelope      BYTEA NOT NULL,
    stored_at     BIGINT NOT NULL,
    PRIMARY KEY (case_id, seq),
    UNIQUE (case_id, msg_id)
);

-- High-water marks: a user has had everything up to delivered_seq delivered, and has read up to read_seq.
CREATE TABLE receipts (
    case_id       TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    user_id       TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    delivered_seq BIGINT NOT NULL DEFAULT 0,
    read_seq      BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);

-- The session id itself is never stored; only its SHA-256.
CREATE TABLE sessions (
    id_hash      BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- Append-only record of refused attempts (the hash-chained audit log will build on it).
CREATE TABLE security_events (
    id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    user_id   TEXT,
    device_id TEXT,
    case_id   TEXT,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE FUNCTION security_events_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'security_events is append-only' USING ERRCODE = 'integrity_constraint_violation';
    RETURN NEW;
END $$;
CREATE TRIGGER security_events_no_update BEFORE UPDATE ON security_events FOR EACH ROW EXECUTE FUNCTION security_events_no_update();
CREATE FUNCTION security_events_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'security_events is append-only' USING ERRCODE = 'integrity_constraint_violation';
    RETURN OLD;
END $$;
CREATE TRIGGER security_events_no_delete BEFORE DELETE ON security_events FOR EACH ROW EXECUTE FUNCTION security_events_no_delete();
-- ===== as SQLite's migration 0002_attachments_and_inbox.sql
-- Attachments: ciphertext only, encrypted in the browser under a key that travels inside the signed,
-- encrypted message that refers to it.
CREATE TABLE blobs (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    uploaded_by TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    size        BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX blobs_by_case ON blobs(case_id);

-- A caseworker marks a conversation handled; a later citizen message makes it wait again.
CREATE TABLE case_state (
    case_id    TEXT PRIMARY KEY REFERENCES cases(id) DEFERRABLE,
    handled_at BIGINT,
    handled_by TEXT REFERENCES users(id) DEFERRABLE
);
-- ===== as SQLite's migration 0003_audit_log.sql
-- The audit log: append-only, hash-chained (chat/audit.py). Never content, never personal identity numbers.
CREATE TABLE audit_log (
    id        BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    action    TEXT NOT NULL,
    outcome   TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied', 'error')),
    actor     TEXT,
    role      TEXT,
    unit_id   TEXT,
    case_id   TEXT,
    reason    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '{}',
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);
CREATE INDEX audit_by_case ON audit_log(case_id, at);
CREATE INDEX audit_by_actor ON audit_log(actor, at);
CREATE FUNCTION audit_log_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'integrity_constraint_violation';
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_no_update();
-- Rows leave only from the start of the chain, at the end of their retention period (`samtal audit prune`,
-- which sets samtal.audit_prune for its own transaction and moves the anchor in the same transaction).
CREATE FUNCTION audit_log_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('samtal.audit_prune', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_no_delete();
-- ===== as SQLite's migration 0004_identity.sql
-- Sign-in through OpenID Connect. Who a sign-in maps to is kept only as a keyed hash (HMAC-SHA256 under a
-- server secret) of the identity: a citizen's personal identity number, a staff member's issuer and subject.
-- The number itself is never stored.
CREATE TABLE identities (
    identity_hash BYTEA PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('citizen', 'staff')),
    user_id       TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    created_at    BIGINT NOT NULL
);
CREATE INDEX identities_by_user ON identities(user_id);

-- One authorization request in flight: state (stored as its SHA-256), nonce and PKCE verifier, bound to the
-- browser that started it. Used at most once; kept a day after, so that a replay is told apart.
CREATE TABLE login_attempts (
    state_hash    BYTEA PRIMARY KEY,
    kind          TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    binding_hash  BYTEA NOT NULL,
    next_path     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    used_at       BIGINT
);
CREATE INDEX login_attempts_by_age ON login_attempts(created_at);
-- ===== as SQLite's migration 0005_exchange.sql
-- The agency exchange (docs/exchange.md): the directory of functional addresses and their public keys,
-- the messages (signed envelope, encrypted content), their signed receipts, and used bearer token ids.
CREATE TABLE exchange_addresses (
    address         TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('agency', 'unit')),
    name            TEXT NOT NULL,
    unit_id         TEXT REFERENCES units(id) DEFERRABLE,
    document_types  TEXT NOT NULL DEFAULT '[]',   -- JSON list
    max_bytes       BIGINT NOT NULL,
    rate_per_minute BIGINT NOT NULL,
    oncall          TEXT NOT NULL DEFAULT '[]',   -- JSON list of e-mail addresses; never published
    created_at      BIGINT NOT NULL,
    CHECK ((kind = 'unit') = (unit_id IS NOT NULL))
);
CREATE TABLE exchange_keys (
    kid        TEXT PRIMARY KEY,
    address    TEXT NOT NULL REFERENCES exchange_addresses(address) DEFERRABLE,
    use        TEXT NOT NULL CHECK (use IN ('sig', 'enc')),
    jwk        TEXT NOT NULL,                     -- the public JWK, never a private part
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE INDEX exchange_keys_by_address ON exchange_keys(address);
CREATE TABLE exchange_messages (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    msg_id          TEXT NOT NULL UNIQUE,
    sender          TEXT NOT NULL REFERENCES exchange_addresses(address) DEFERRABLE,
    recipient       TEXT NOT NULL REFERENCES exchange_addresses(address) DEFERRABLE,
    conversation    TEXT NOT NULL,
    in_reply_to     TEXT,
    doc_type        TEXT NOT NULL,
    priority        TEXT NOT NULL,
    label           TEXT NOT NULL,
    created         BIGINT NOT NULL,
    expires         BIGINT NOT NULL,
    envelope        TEXT NOT NULL,                -- the compact JWS as sent
    envelope_sha256 TEXT NOT NULL,
    content         TEXT NOT NULL,                -- the compact JWE as sent
    stored_at       BIGINT NOT NULL,
    audit_id        BIGINT NOT NULL,
    acked_at        BIGINT,
    alerted_at      BIGINT
);
CREATE INDEX exchange_messages_by_recipient ON exchange_messages(recipient, acked_at);
CREATE TABLE exchange_receipts (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    message    BIGINT NOT NULL REFERENCES exchange_messages(id) DEFERRABLE,
    status     TEXT NOT NULL CHECK (status IN ('received', 'accepted', 'rejected', 'read')),
    jws        TEXT NOT NULL,
    at         BIGINT NOT NULL,
    audit_id   BIGINT NOT NULL,
    by_user    TEXT
);
CREATE INDEX exchange_receipts_by_message ON exchange_receipts(message, id);
CREATE TABLE exchange_token_ids (
    address    TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (address, jti)
);
-- ===== as SQLite's migration 0006_substitutes.sql
-- vikarie: a substitute handles an absent caseworker's cases for a period (inclusive start, exclusive end).
CREATE TABLE substitutions (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    unit_id     TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    absent_user TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    substitute  TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    CHECK (ends_at > starts_at),
    CHECK (absent_user != substitute)
);
CREATE INDEX substitutions_by_unit ON substitutions(unit_id, ends_at);
-- ===== as SQLite's migration 0007_audit_findings.sql
-- A log reviewer's (granskare) finding about one audit row: part of loggkontroll.
CREATE TABLE audit_findings (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    unit_id    TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    audit_id   BIGINT NOT NULL REFERENCES audit_log(id) DEFERRABLE,
    reviewer   TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    verdict    TEXT NOT NULL CHECK (verdict IN ('ok', 'question', 'violation')),
    note       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_findings_by_unit ON audit_findings(unit_id, created_at);
-- ===== as SQLite's migration 0008_audit_anchor.sql
-- Where the kept audit log starts after old rows were removed at the end of their retention period: the id
-- and hash of the last removed row, so that the chain of the remaining rows can still be verified.
CREATE TABLE audit_anchor (
    singleton       BIGINT PRIMARY KEY CHECK (singleton = 1),
    last_pruned_id  BIGINT NOT NULL,
    last_pruned_hash BYTEA NOT NULL,
    pruned_at       BIGINT NOT NULL
);
-- ===== as SQLite's migration 0009_address_key_wraps.sql
-- Exchange address private keys wrapped to the unit key (docs/exchange.md, Address keys in staff browsers):
-- HPKE-sealed to a unit key epoch's public key by a staff device, which signs the wrap. The server stores
-- the wrap only; it holds no unit key and cannot open it.
CREATE TABLE exchange_address_key_wraps (
    kid               TEXT NOT NULL REFERENCES exchange_keys(kid) DEFERRABLE,
    unit_epoch        BIGINT NOT NULL,
    address           TEXT NOT NULL REFERENCES exchange_addresses(address) DEFERRABLE,
    unit_id           TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    key_version       BIGINT NOT NULL,
    enc               BYTEA NOT NULL,
    ct                BYTEA NOT NULL,
    wrapped_by_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    signature         BYTEA NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (kid, unit_epoch)
);
CREATE INDEX exchange_address_key_wraps_by_unit ON exchange_address_key_wraps(unit_id, unit_epoch);
-- ===== as SQLite's migration 0010_booking.sql
-- Tidsbokning: caseworkers publish times (slots) with the meeting forms they offer, citizens or staff on the
-- citizen's behalf book them. Metadata only: times, forms, who booked; no notes. Addresses are the unit's
-- office addresses.
CREATE TABLE booking_offices (
    id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    unit_id  TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    address  TEXT NOT NULL,
    UNIQUE (unit_id, address)
);

CREATE TABLE booking_slots (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    unit_id      TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    caseworker   TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    forms        TEXT NOT NULL,  -- JSON list of in_person, phone, video
    office_id    BIGINT REFERENCES booking_offices(id) DEFERRABLE,
    created_by   TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    created_at   BIGINT NOT NULL,
    withdrawn_at BIGINT,
    CHECK (ends_at > starts_at)
);
CREATE INDEX booking_slots_by_unit ON booking_slots(unit_id, starts_at);
CREATE INDEX booking_slots_by_caseworker ON booking_slots(caseworker, starts_at);

CREATE TABLE bookings (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    slot_id     BIGINT NOT NULL REFERENCES booking_slots(id) DEFERRABLE,
    case_id     TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    citizen_id  TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    form        TEXT NOT NULL CHECK (form IN ('in_person', 'phone', 'video')),
    status      TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'rescheduled')),
    booked_by   TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    on_behalf   BIGINT NOT NULL CHECK (on_behalf IN (0, 1)),  -- staff booked for the citizen (by phone)
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT,
    changed_by  TEXT REFERENCES users(id) DEFERRABLE,
    changed_on_behalf BIGINT CHECK (changed_on_behalf IN (0, 1)),
    replaced_by BIGINT REFERENCES bookings(id) DEFERRABLE,
    reminded_at BIGINT
);
-- No double booking: one active booking per slot, also if two requests race.
CREATE UNIQUE INDEX bookings_one_per_slot ON bookings(slot_id) WHERE status = 'booked';
CREATE INDEX bookings_by_case ON bookings(case_id);

-- A person's own contact e-mail, for confirmations and reminders (never sensitive content).
CREATE TABLE contact_emails (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) DEFERRABLE,
    email      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- ===== as SQLite's migration 0011_notifications.sql
-- Notifications by e-mail (chat/notifications.py, docs/notifications.md): what waits unseen for a person, their
-- choice, and when they were last mailed; and a unit's own settings (its video meeting link).

-- A person's choice: e-mail when something new waits (off until they turn it on), and their language.
CREATE TABLE notification_settings (
    user_id      TEXT PRIMARY KEY REFERENCES users(id) DEFERRABLE,
    email_opt_in BIGINT NOT NULL DEFAULT 0 CHECK (email_opt_in IN (0, 1)),
    language     TEXT CHECK (language IN ('sv', 'en')),  -- NULL: not chosen (Swedish, English below)
    updated_at   BIGINT NOT NULL
);

-- Something new in a case that none of the person's devices has received yet: one row per person, case and
-- kind (message, booking, ...), however many things of that kind came. No content, no sender.
CREATE TABLE notifications_waiting (
    user_id TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    case_id TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    kind    TEXT NOT NULL,
    since   BIGINT NOT NULL,  -- when the oldest unseen thing came: the grace period runs from here
    seq     BIGINT,           -- messages: the newest seq waiting; seen once the person's receipt reaches it
    PRIMARY KEY (user_id, case_id, kind)
);

-- The throttle: when the person was last mailed.
CREATE TABLE notification_mails (
    user_id      TEXT PRIMARY KEY REFERENCES users(id) DEFERRABLE,
    last_sent_at BIGINT NOT NULL
);

-- A unit's own settings, set by its supervisor on /unit. NULL: the server's setting applies.
CREATE TABLE unit_settings (
    unit_id             TEXT PRIMARY KEY REFERENCES units(id) DEFERRABLE,
    video_link_template TEXT,
    updated_by          TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    updated_at          BIGINT NOT NULL
);
-- ===== as SQLite's migration 0012_applications.sql
-- Ansökan (docs/applications.md): applications sent in Samtal or registered by staff from paper. What was
-- applied for, and what is asked and decided, are sealed records (ciphertext, crypto/record.py); the server
-- keeps which form, which case, the status, who did what and when, and the grants readers open them with.
CREATE TABLE applications (
    id           TEXT PRIMARY KEY,  -- the record id of the application's sealed record
    unit_id      TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    case_id      TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    citizen_id   TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    form_id      TEXT NOT NULL,
    form_version BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN
                   ('received', 'assessing', 'completion_requested', 'supplemented', 'decided')),
    submitted_by TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    on_behalf    BIGINT NOT NULL CHECK (on_behalf IN (0, 1)),  -- staff registered it from paper
    opened_case  BIGINT NOT NULL CHECK (opened_case IN (0, 1)),  -- it opened its case, or joined one
    submitted_at BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    due_at       BIGINT  -- while completion is requested: by when (metadata; what is asked is sealed)
);
CREATE INDEX applications_by_unit ON applications(unit_id, updated_at);
CREATE INDEX applications_by_citizen ON applications(citizen_id, updated_at);
CREATE INDEX applications_by_case ON applications(case_id);

-- The sealed records of an application: the application itself, completion requests, the citizen's
-- supplements, the decision. Bytes as uploaded, checked (kind, unit, case, author device, signature).
CREATE TABLE application_records (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id) DEFERRABLE,
    kind           TEXT NOT NULL,
    author         TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    author_device  TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    data           BYTEA NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX application_records_by_application ON application_records(application_id);

-- How readers get a record's key: 'unit:<epoch>', a device id, or 'case:<epoch>'; signed by the granting device.
CREATE TABLE application_grants (
    record_id         TEXT NOT NULL REFERENCES application_records(id) DEFERRABLE,
    recipient         TEXT NOT NULL,
    grant_data        BYTEA NOT NULL,
    signature         BYTEA NOT NULL,
    granted_by        TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    granted_by_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (record_id, recipient)
);

-- The status timeline: one row per step, oldest first; record_id names the sealed content of the step.
CREATE TABLE application_events (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id) DEFERRABLE,
    kind           TEXT NOT NULL CHECK (kind IN
                     ('received', 'assessing', 'completion_requested', 'supplemented', 'decided')),
    actor          TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    on_behalf      BIGINT NOT NULL CHECK (on_behalf IN (0, 1)),
    record_id      TEXT REFERENCES application_records(id) DEFERRABLE,
    due_at         BIGINT,
    at             BIGINT NOT NULL
);
CREATE INDEX application_events_by_application ON application_events(application_id, id);

-- Encrypted attachments of applications and supplements. Uploaded before the record that names them (whose
-- case may not exist yet), so they belong to the application id; attached_at is set when a record names
-- them, and those never attached are removed after a day.
CREATE TABLE application_blobs (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    size           BIGINT NOT NULL,
    data           BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    attached_at    BIGINT
);
CREATE INDEX application_blobs_by_application ON application_blobs(application_id);
CREATE INDEX application_blobs_unattached ON application_blobs(created_at) WHERE attached_at IS NULL;
-- ===== as SQLite's migration 0013_journal.sql
-- Dokumentation (docs/documentation.md): the case's journal. What is written is a sealed record (ciphertext,
-- crypto/record.py); the server keeps who wrote and signed what when, which version, whether the citizen may
-- read it (published), the citizen's supplements, comments and disputes, and the grants readers open them with.
CREATE TABLE journal_entries (
    id           TEXT PRIMARY KEY,  -- chosen by the browser: the record id of the entry's first version
    case_id      TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    unit_id      TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    author       TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    created_at   BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'signed')),
    signed_by    TEXT REFERENCES users(id) DEFERRABLE,
    signed_at    BIGINT,
    published_by TEXT REFERENCES users(id) DEFERRABLE,  -- who judged that the citizen may read it
    published_at BIGINT,
    source_seq   BIGINT,  -- filed from this message of the case
    updated_at   BIGINT NOT NULL,
    CHECK ((status = 'signed') = (signed_at IS NOT NULL)),
    CHECK (published_at IS NULL OR status = 'signed')
);
CREATE INDEX journal_entries_by_case ON journal_entries(case_id, created_at);

-- A signed entry stays signed, by whom and when; once published it stays published (the citizen may have read
-- it). Only a draft is deleted. Defence in depth: chat/journal.py refuses these before SQL is reached.
CREATE FUNCTION journal_entries_signed_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'signed' AND (NEW.status IS DISTINCT FROM 'signed' OR NEW.signed_by IS DISTINCT FROM OLD.signed_by
    OR NEW.signed_at IS DISTINCT FROM OLD.signed_at OR NEW.author IS DISTINCT FROM OLD.author OR NEW.case_id IS DISTINCT FROM OLD.case_id
    OR NEW.unit_id IS DISTINCT FROM OLD.unit_id OR NEW.created_at IS DISTINCT FROM OLD.created_at
    OR NEW.source_seq IS DISTINCT FROM OLD.source_seq OR NEW.id IS DISTINCT FROM OLD.id) THEN
        RAISE EXCEPTION 'signed journal entries cannot change' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER journal_entries_signed_stay BEFORE UPDATE ON journal_entries FOR EACH ROW EXECUTE FUNCTION journal_entries_signed_stay();
CREATE FUNCTION journal_entries_published_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.published_at IS NOT NULL AND (NEW.published_at IS DISTINCT FROM OLD.published_at
    OR NEW.published_by IS DISTINCT FROM OLD.published_by) THEN
        RAISE EXCEPTION 'a published journal entry stays published' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER journal_entries_published_stay BEFORE UPDATE ON journal_entries FOR EACH ROW EXECUTE FUNCTION journal_entries_published_stay();
CREATE FUNCTION journal_entries_signed_not_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION 'signed journal entries cannot change' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER journal_entries_signed_not_deleted BEFORE DELETE ON journal_entries FOR EACH ROW EXECUTE FUNCTION journal_entries_signed_not_deleted();

-- The versions of an entry, 1.. . A draft has exactly one, replaced when the draft is saved again; signing
-- freezes it; a correction (rättelse) adds the next version, signed at once.
CREATE TABLE journal_versions (
    entry_id      TEXT NOT NULL REFERENCES journal_entries(id) DEFERRABLE,
    version       BIGINT NOT NULL CHECK (version >= 1),
    record_id     TEXT NOT NULL UNIQUE,
    author        TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    author_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    data          BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    signed_at     BIGINT,
    PRIMARY KEY (entry_id, version)
);
CREATE FUNCTION journal_versions_signed_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.signed_at IS NOT NULL THEN
        RAISE EXCEPTION 'signed journal versions cannot change' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER journal_versions_signed_no_update BEFORE UPDATE ON journal_versions FOR EACH ROW EXECUTE FUNCTION journal_versions_signed_no_update();
CREATE FUNCTION journal_versions_signed_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.signed_at IS NOT NULL THEN
        RAISE EXCEPTION 'signed journal versions cannot change' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER journal_versions_signed_no_delete BEFORE DELETE ON journal_versions FOR EACH ROW EXECUTE FUNCTION journal_versions_signed_no_delete();

-- The citizen's supplements (tillägg), comments on a draft shared live, disputes of a published entry, and the
-- unit's responses to disputes. A remark is never changed, except that a dispute gets answered once.
CREATE TABLE journal_remarks (
    id            TEXT PRIMARY KEY,  -- the record id
    case_id       TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    entry_id      TEXT,  -- NULL: a supplement to the whole case; not a foreign key: a draft commented on may go
    kind          TEXT NOT NULL CHECK (kind IN ('supplement', 'comment', 'dispute', 'response')),
    responds_to   TEXT REFERENCES journal_remarks(id) DEFERRABLE,
    author        TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    author_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    data          BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    answered_by   TEXT REFERENCES users(id) DEFERRABLE,
    answered_at   BIGINT,
    CHECK ((kind = 'response') = (responds_to IS NOT NULL))
);
CREATE INDEX journal_remarks_by_case ON journal_remarks(case_id, created_at);
CREATE FUNCTION journal_remarks_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.case_id IS DISTINCT FROM OLD.case_id OR NEW.entry_id IS DISTINCT FROM OLD.entry_id
    OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.responds_to IS DISTINCT FROM OLD.responds_to OR NEW.author IS DISTINCT FROM OLD.author
    OR NEW.author_device IS DISTINCT FROM OLD.author_device OR NEW.data IS DISTINCT FROM OLD.data OR NEW.created_at IS DISTINCT FROM OLD.created_at
    OR OLD.answered_at IS NOT NULL THEN
        RAISE EXCEPTION 'journal remarks cannot change' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER journal_remarks_stay BEFORE UPDATE ON journal_remarks FOR EACH ROW EXECUTE FUNCTION journal_remarks_stay();
CREATE FUNCTION journal_remarks_not_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal remarks cannot change' USING ERRCODE = 'integrity_constraint_violation';
    RETURN OLD;
END $$;
CREATE TRIGGER journal_remarks_not_deleted BEFORE DELETE ON journal_remarks FOR EACH ROW EXECUTE FUNCTION journal_remarks_not_deleted();

-- How readers get a record's key: 'unit:<epoch>' (the unit's staff) or 'case:<epoch>' (every device of the
-- case, the citizen's included: published). Signed by the granting device. Grants are added, never changed;
-- only those of a draft's replaced or deleted version go.
CREATE TABLE journal_grants (
    record_id         TEXT NOT NULL,  -- a version's or a remark's record id
    recipient         TEXT NOT NULL,
    grant_data        BYTEA NOT NULL,
    signature         BYTEA NOT NULL,
    granted_by        TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    granted_by_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (record_id, recipient)
);
CREATE FUNCTION journal_grants_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal grants cannot change' USING ERRCODE = 'integrity_constraint_violation';
    RETURN NEW;
END $$;
CREATE TRIGGER journal_grants_no_update BEFORE UPDATE ON journal_grants FOR EACH ROW EXECUTE FUNCTION journal_grants_no_update();
CREATE FUNCTION journal_grants_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM journal_versions WHERE record_id = OLD.record_id AND signed_at IS NOT NULL)
    OR EXISTS (SELECT 1 FROM journal_remarks WHERE id = OLD.record_id) THEN
        RAISE EXCEPTION 'signed journal versions cannot change' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER journal_grants_kept BEFORE DELETE ON journal_grants FOR EACH ROW EXECUTE FUNCTION journal_grants_kept();

-- Encrypted attachments of the citizen's supplements, uploaded before the record that names them; attached_at
-- is set when one does, and those never attached are removed after a day.
CREATE TABLE journal_blobs (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id) DEFERRABLE,
    uploaded_by TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    size        BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    attached_at BIGINT
);
CREATE INDEX journal_blobs_by_case ON journal_blobs(case_id);
CREATE INDEX journal_blobs_unattached ON journal_blobs(created_at) WHERE attached_at IS NULL;
-- ===== as SQLite's migration 0014_office_retired.sql
-- An office address a unit no longer meets citizens at: retired, not deleted, because earlier times and
-- bookings name it (and a booking's record must still say where the meeting was).
ALTER TABLE booking_offices ADD COLUMN retired_at BIGINT;
-- ===== as SQLite's migration 0015_protected_identity.sql
-- Skyddade personuppgifter: citizens whose identity is protected (sekretessmarkering, skyddad
-- folkbokföring), flagged by a supervisor of a unit with one of their cases. Who flagged and when; the
-- audit log keeps every change.
CREATE TABLE protected_identities (
    user_id TEXT PRIMARY KEY REFERENCES users(id) DEFERRABLE,
    set_by  TEXT NOT NULL REFERENCES users(id) DEFERRABLE,
    set_at  BIGINT NOT NULL
);
-- ===== as SQLite's migration 0016_key_history.sql
-- History links (docs/protocol.md section 17): a newer unit or case key epoch seals an older one, so that a
-- device given the newest epoch opens every older one. Signed by the device that made the link; the server
-- cannot open a link (it holds no key) and keeps the first link for each pair of epochs.
CREATE TABLE key_history_links (
    kind          TEXT NOT NULL CHECK (kind IN ('unit', 'case')),
    target_id     TEXT NOT NULL,            -- the unit id, or the case id
    unit_id       TEXT NOT NULL REFERENCES units(id) DEFERRABLE,
    epoch         BIGINT NOT NULL,         -- the newer epoch, whose key opens the link
    sealed_epoch  BIGINT NOT NULL CHECK (sealed_epoch >= 1 AND sealed_epoch < epoch),
    link          BYTEA NOT NULL,
    signer_device TEXT NOT NULL REFERENCES devices(id) DEFERRABLE,
    signature     BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (kind, target_id, epoch, sealed_epoch)
);
CREATE INDEX key_history_links_by_unit ON key_history_links(unit_id, kind);

-- Append-only for everyone but the owner: the role the server runs as should not own the tables (see
-- docs/operations.md, "PostgreSQL"); the triggers above hold for the owner too.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, security_events FROM PUBLIC;
