-- Tidsbokning: caseworkers publish times (slots) with the meeting forms they offer, citizens or staff on the
-- citizen's behalf book them. Metadata only: times, forms, who booked; no notes. Addresses are the unit's
-- office addresses.
CREATE TABLE booking_offices (
    id       INTEGER PRIMARY KEY,
    unit_id  TEXT NOT NULL REFERENCES units(id),
    address  TEXT NOT NULL,
    UNIQUE (unit_id, address)
);

CREATE TABLE booking_slots (
    id           INTEGER PRIMARY KEY,
    unit_id      TEXT NOT NULL REFERENCES units(id),
    caseworker   TEXT NOT NULL REFERENCES users(id),
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL,
    forms        TEXT NOT NULL,  -- JSON list of in_person, phone, video
    office_id    INTEGER REFERENCES booking_offices(id),
    created_by   TEXT NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    withdrawn_at INTEGER,
    CHECK (ends_at > starts_at)
);
CREATE INDEX booking_slots_by_unit ON booking_slots(unit_id, starts_at);
CREATE INDEX booking_slots_by_caseworker ON booking_slots(caseworker, starts_at);

CREATE TABLE bookings (
    id          INTEGER PRIMARY KEY,
    slot_id     INTEGER NOT NULL REFERENCES booking_slots(id),
    case_id     TEXT NOT NULL REFERENCES cases(id),
    citizen_id  TEXT NOT NULL REFERENCES users(id),
    form        TEXT NOT NULL CHECK (form IN ('in_person', 'phone', 'video')),
    status      TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'rescheduled')),
    booked_by   TEXT NOT NULL REFERENCES users(id),
    on_behalf   INTEGER NOT NULL CHECK (on_behalf IN (0, 1)),  -- staff booked for the citizen (by phone)
    created_at  INTEGER NOT NULL,
    changed_at  INTEGER,
    changed_by  TEXT REFERENCES users(id),
    changed_on_behalf INTEGER CHECK (changed_on_behalf IN (0, 1)),
    replaced_by INTEGER REFERENCES bookings(id),
    reminded_at INTEGER
);
-- No double booking: one active booking per slot, also if two requests race.
CREATE UNIQUE INDEX bookings_one_per_slot ON bookings(slot_id) WHERE status = 'booked';
CREATE INDEX bookings_by_case ON bookings(case_id);

-- A person's own contact e-mail, for confirmations and reminders (never sensitive content).
CREATE TABLE contact_emails (
    user_id    TEXT PRIMARY KEY REFERENCES users(id),
    email      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
