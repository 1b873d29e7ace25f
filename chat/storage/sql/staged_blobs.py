"""Encrypted attachments uploaded before the sealed record that names them (an application, a supplement to
it, a supplement to the journal). Ciphertext only; the key is in the record. An attachment waits "staged"
until its record is stored, which attaches it in the same transaction; one that no record named within a day
(an application abandoned half way) is removed, and one person has at most `max_staged` waiting per owner."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chat.errors import Conflict, InvalidInput
from chat.storage.sql import Db

UNATTACHED_BLOB_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class StagedBlobs:
    """One table of them: `table` has id, `owner` (the application or case id), uploaded_by, size, data,
    created_at and attached_at. Names are the code's own constants, never input."""

    table: str
    owner: str
    max_staged: int
    waits_for: str  # in the refusal: "one application", "one supplement"

    def add(self, db: Db, blob_id: str, owner_id: str, uploaded_by: str, data: bytes,
            at: int) -> None:
        db.execute(f"DELETE FROM {self.table} WHERE attached_at IS NULL AND created_at < ?",
                   (at - UNATTACHED_BLOB_MS,))
        # What waits for a record is its uploader's: nobody else stages under the same owner meanwhile (another
        # person's application id, say), so that nothing of theirs can ride along with the record.
        if db.execute(f"SELECT 1 FROM {self.table} WHERE {self.owner} = ? AND uploaded_by != ? AND attached_at IS"
                      " NULL LIMIT 1", (owner_id, uploaded_by)).fetchone() is not None:
            raise Conflict(f"someone else's attachments wait for {self.waits_for}", code="staged_by_another")
        (staged,) = db.execute(f"SELECT count(*) FROM {self.table} WHERE {self.owner} = ? AND uploaded_by = ?"
                               " AND attached_at IS NULL", (owner_id, uploaded_by)).fetchone()
        if staged >= self.max_staged:
            raise InvalidInput(f"at most {self.max_staged} attachments wait for {self.waits_for}",
                               code="too_many_attachments")
        db.execute(f"INSERT INTO {self.table} (id, {self.owner}, uploaded_by, size, data, created_at)"
                   " VALUES (?, ?, ?, ?, ?, ?)", (blob_id, owner_id, uploaded_by, len(data), data, at))

    def get(self, db: Db, owner_id: str, blob_id: str) -> tuple[bytes, str, bool] | None:
        """(ciphertext, uploaded_by, attached) of one of the owner's attachments."""
        row = db.execute(f"SELECT data, uploaded_by, attached_at IS NOT NULL FROM {self.table} WHERE id = ? AND"
                         f" {self.owner} = ?", (blob_id, owner_id)).fetchone()
        return None if row is None else (bytes(row[0]), str(row[1]), bool(row[2]))

    def attach(self, db: Db, owner_id: str, author: str, blob_ids: Iterable[str], at: int) -> None:
        """The record's author's own staged attachments of this owner, or InvalidInput (the caller's
        transaction then stores nothing)."""
        for blob_id in blob_ids:
            done = db.execute(f"UPDATE {self.table} SET attached_at = ? WHERE id = ? AND {self.owner} = ? AND"
                              " uploaded_by = ? AND attached_at IS NULL", (at, blob_id, owner_id, author)).rowcount
            if not done:
                raise InvalidInput("an attachment the record names was not uploaded for it", code="unknown_blob")
