-- As SQLite's migration 0019: a person's attachments are counted against their quota at every upload.
CREATE INDEX blobs_by_uploader ON blobs(uploaded_by);
CREATE INDEX application_blobs_by_uploader ON application_blobs(uploaded_by);
CREATE INDEX journal_blobs_by_uploader ON journal_blobs(uploaded_by);
