-- The office's phone number, as SQLite's 0023_office_phone.sql.
ALTER TABLE booking_offices ADD COLUMN phone TEXT;
