-- A person's attachments are counted against their quota (SAMTAL_ATTACHMENT_QUOTA_BYTES) at every upload:
-- found by who uploaded them, not by reading every attachment's row.
CREATE INDEX blobs_by_uploader ON blobs(uploaded_by);
CREATE INDEX application_blobs_by_uploader ON application_blobs(uploaded_by);
CREATE INDEX journal_blobs_by_uploader ON journal_blobs(uploaded_by);
