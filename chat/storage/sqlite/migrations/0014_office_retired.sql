-- An office address a unit no longer meets citizens at: retired, not deleted, because earlier times and
-- bookings name it (and a booking's record must still say where the meeting was).
ALTER TABLE booking_offices ADD COLUMN retired_at INTEGER;
