-- The registration proof (docs/protocol.md §3): the device's own signature over its owner's user id and its
-- keys, kept so that every client can check whose a device is instead of taking the server's word
-- (devices.user_id) for it. Devices registered before this column have none: clients say so.
ALTER TABLE devices ADD COLUMN registration_proof BLOB;
