-- As SQLite's 0031_application_steps.sql: the statuses and step kinds are the service's list, and a step has
-- `detail`, its metadata as JSON (never content).
ALTER TABLE applications DROP CONSTRAINT applications_status_check;
ALTER TABLE application_events DROP CONSTRAINT application_events_kind_check;
ALTER TABLE application_events ADD COLUMN detail TEXT;
