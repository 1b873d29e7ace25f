-- The office's phone number, for the citizen who would rather call than book here (#14: the booking page
-- said "call or visit the office" with neither a number nor an address). Optional: an office without one
-- is still an address.
ALTER TABLE booking_offices ADD COLUMN phone TEXT;
