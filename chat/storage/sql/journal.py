"""The journal tables (migration 0013), for both engines. Each step is one transaction: an
entry's record goes in with its grants and its status, a publication with the case grants of every signed
version, a remark with its grants and the attachments it names, or nothing does. The rules that depend on
the stored state (a draft, signed, published; a dispute to answer) are checked inside that transaction, so
two requests at once cannot both pass them; migration 0013's triggers refuse changing what is signed."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chat.errors import Conflict, InvalidInput, NotFound
from chat.storage.applications import Grant, NewRecord
from chat.storage.journal import DisputeMark, Entry, JournalStore, Publication, Remark, Version
from chat.storage.sql import Db, Engine
from chat.storage.sql.staged_blobs import StagedBlobs

# Attachments wait for the supplement that names them, at most 40 per person and case.
BLOBS = StagedBlobs("journal_blobs", "case_id", 40, "one supplement")

_ENTRY = ("id, case_id, unit_id, author, created_at, status, signed_by, signed_at, published_by, published_at,"
          " source_seq, updated_at")
_VERSION = "entry_id, version, record_id, author, author_device, data, created_at, signed_at"
_REMARK = ("id, case_id, entry_id, kind, responds_to, author, author_device, data, created_at, answered_by,"
           " answered_at")
_GRANT = "record_id, recipient, grant_data, signature, granted_by, granted_by_device, created_at"


def _version(r: Any) -> Version:
    return Version(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), r[6], r[7])


def _remark(r: Any) -> Remark:
    return Remark(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7]), r[8], r[9], r[10])


class SqlJournalStore(JournalStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def _run(self, fn: Callable[[Db], Any]) -> Any:
        return await self.engine.transaction(fn)

    # -- reading ---------------------------------------------------------------------------------------
    @staticmethod
    def _entry(db: Db, entry_id: str) -> Entry | None:
        row = db.execute(f"SELECT {_ENTRY} FROM journal_entries WHERE id = ?", (entry_id,)).fetchone()
        return None if row is None else Entry(*row)

    async def entry(self, entry_id: str) -> Entry | None:
        return await self._run(lambda db: self._entry(db, entry_id))  # type: ignore[no-any-return]

    async def remark(self, remark_id: str) -> Remark | None:
        row = await self._run(lambda db: db.execute(f"SELECT {_REMARK} FROM journal_remarks WHERE id = ?",
                                                    (remark_id,)).fetchone())
        return None if row is None else _remark(row)

    async def entry_detail(self, entry_id: str) -> tuple[list[Version], int]:
        """An entry's versions and how many disputes of it wait for a response."""
        def read(db: Db) -> tuple[list[Version], int]:
            versions = [_version(r) for r in db.execute(
                f"SELECT {_VERSION} FROM journal_versions WHERE entry_id = ? ORDER BY version", (entry_id,))]
            (open_disputes,) = db.execute("SELECT count(*) FROM journal_remarks WHERE entry_id = ? AND kind ="
                                          " 'dispute' AND answered_at IS NULL", (entry_id,)).fetchone()
            return versions, int(open_disputes)
        return await self._run(read)  # type: ignore[no-any-return]

    DISPUTE_CHUNK = 500

    async def disputes(self, case_ids: Sequence[str]) -> list[DisputeMark]:
        def read(db: Db) -> list[DisputeMark]:
            found: list[DisputeMark] = []
            for start in range(0, len(case_ids), self.DISPUTE_CHUNK):
                chunk = list(case_ids[start:start + self.DISPUTE_CHUNK])
                found += [DisputeMark(*r) for r in db.execute(
                    "SELECT id, case_id, entry_id, created_at, answered_at FROM journal_remarks"
                    f" WHERE kind = 'dispute' AND case_id IN ({','.join('?' * len(chunk))})"
                    " ORDER BY created_at, id", chunk)]
            return found
        return await self._run(read) if case_ids else []

    async def case_journal(self, case_id: str) -> tuple[list[Entry], list[Version], list[Remark], list[Grant]]:
        """Everything of a case's journal, oldest first; the service filters it for the reader."""
        def read(db: Db) -> tuple[list[Entry], list[Version], list[Remark], list[Grant]]:
            entries = [Entry(*r) for r in db.execute(
                f"SELECT {_ENTRY} FROM journal_entries WHERE case_id = ? ORDER BY created_at, id", (case_id,))]
            versions = [_version(r) for r in db.execute(
                "SELECT v.entry_id, v.version, v.record_id, v.author, v.author_device, v.data, v.created_at,"
                " v.signed_at FROM journal_versions v JOIN journal_entries e ON e.id = v.entry_id WHERE e.case_id = ? ORDER BY v.entry_id, v.version",
                (case_id,))]
            remarks = [_remark(r) for r in db.execute(
                f"SELECT {_REMARK} FROM journal_remarks WHERE case_id = ? ORDER BY created_at, id", (case_id,))]
            grants = [Grant(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], r[5], r[6]) for r in db.execute(
                f"SELECT {_GRANT} FROM journal_grants WHERE record_id IN (SELECT v.record_id FROM journal_versions v"
                " JOIN journal_entries e ON e.id = v.entry_id WHERE e.case_id = ? UNION SELECT id FROM"
                " journal_remarks WHERE case_id = ?) ORDER BY created_at, record_id, recipient", (case_id, case_id))]
            return entries, versions, remarks, grants
        return await self._run(read)  # type: ignore[no-any-return]

    # -- helpers inside a transaction ------------------------------------------------------------------
    @staticmethod
    def _stored_bytes(db: Db, record_id: str) -> bytes | None:
        """The bytes stored under a record id, as a version or as a remark (ids are one namespace)."""
        row = db.execute("SELECT data FROM journal_versions WHERE record_id = ? UNION ALL SELECT data FROM"
                         " journal_remarks WHERE id = ?", (record_id, record_id)).fetchone()
        return None if row is None else bytes(row[0])

    def _is_retry(self, db: Db, rec: NewRecord) -> bool:
        """True when this very record is stored already (a retry); Conflict when its id holds other bytes."""
        stored = self._stored_bytes(db, rec.id)
        if stored is None:
            return False
        if stored != rec.data:
            raise Conflict("a record with this id exists with other content", code="record_exists")
        return True

    @staticmethod
    def _insert_grants(db: Db, record_id: str, grants: Sequence[tuple[str, bytes, bytes]],
                       by: str, device: str, at: int) -> int:
        added = 0
        for recipient, grant, signature in grants:
            added += db.execute(
                f"INSERT INTO journal_grants ({_GRANT}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (record_id, recipient, grant, signature, by, device, at)).rowcount
        return added

    def _insert_version(self, db: Db, entry_id: str, version: int, rec: NewRecord, at: int,
                        signed: bool) -> None:
        db.execute(f"INSERT INTO journal_versions ({_VERSION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (entry_id, version, rec.id, rec.author, rec.author_device, rec.data, at, at if signed else None))
        self._insert_grants(db, rec.id, rec.grants, rec.author, rec.author_device, at)

    @staticmethod
    def _require_case_grant(rec: NewRecord, case_recipient: str) -> None:
        if case_recipient not in {recipient for recipient, _, _ in rec.grants}:
            raise InvalidInput(f"a published entry's record must be granted to {case_recipient} as well",
                               code="grant_missing")

    def _draft(self, db: Db, entry_id: str) -> Entry:
        entry = self._entry(db, entry_id)
        if entry is None:
            raise NotFound("no such journal entry", code="unknown_entry")
        if entry.status != "draft":
            raise Conflict("the entry is signed; a change is a correction (a new version)", code="entry_signed")
        return entry

    # -- entries ---------------------------------------------------------------------------------------
    async def create(self, case_id: str, unit_id: str, rec: NewRecord, source_seq: int | None, sign: bool,
                     publication: Publication | None, case_recipient: str, at: int) -> tuple[Entry, bool]:
        """A new entry whose first version is `rec` (the entry's id is the record's). Returns (entry, stored now);
        the same record again returns the stored entry with stored now = False."""
        def create(db: Db) -> tuple[Entry, bool]:
            if self._is_retry(db, rec):
                entry = self._entry(db, rec.id)
                if entry is None or entry.case_id != case_id:
                    raise Conflict("a record with this id exists", code="record_exists")
                return entry, False
            if self._entry(db, rec.id) is not None:  # its first record was replaced by a later draft
                raise Conflict("an entry with this id exists", code="record_exists")
            if source_seq is not None and db.execute("SELECT 1 FROM messages WHERE case_id = ? AND seq = ?",
                                                     (case_id, source_seq)).fetchone() is None:
                raise InvalidInput("source_seq names no message of this case", code="unknown_message")
            if publication is not None:
                self._require_case_grant(rec, case_recipient)
            db.execute(f"INSERT INTO journal_entries ({_ENTRY}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (rec.id, case_id, unit_id, rec.author, at, "signed" if sign else "draft",
                        rec.author if sign else None, at if sign else None,
                        publication.by if publication else None, publication.at if publication else None,
                        source_seq, at))
            self._insert_version(db, rec.id, 1, rec, at, sign)
            return self._entry(db, rec.id), True  # type: ignore[return-value]
        return await self._run(create)  # type: ignore[no-any-return]

    async def replace_draft(self, entry_id: str, rec: NewRecord, sign: bool, publication: Publication | None,
                            case_recipient: str, at: int) -> Entry:
        """The draft's content becomes `rec` (its old record and grants go: a draft is not yet part of the
        record); with `sign`, it becomes version 1 of a signed entry, and with `publication` published too."""
        def replace(db: Db) -> Entry:
            entry = self._draft(db, entry_id)
            (current,) = db.execute("SELECT record_id FROM journal_versions WHERE entry_id = ? AND version = 1",
                                    (entry_id,)).fetchone()
            if publication is not None:
                self._require_case_grant(rec, case_recipient)
            if current == rec.id and self._is_retry(db, rec):  # the same draft again: sign what is there
                if sign:
                    db.execute("UPDATE journal_versions SET signed_at = ? WHERE record_id = ?", (at, rec.id))
                self._insert_grants(db, rec.id, rec.grants, rec.author, rec.author_device, at)
            else:
                if self._stored_bytes(db, rec.id) is not None:
                    raise Conflict("a record with this id exists", code="record_exists")
                db.execute("DELETE FROM journal_grants WHERE record_id = ?", (current,))
                db.execute("DELETE FROM journal_versions WHERE record_id = ?", (current,))
                self._insert_version(db, entry_id, 1, rec, at, sign)
            db.execute("UPDATE journal_entries SET status = ?, signed_by = ?, signed_at = ?, published_by = ?,"
                       " published_at = ?, updated_at = ? WHERE id = ?",
                       ("signed" if sign else "draft", rec.author if sign else None, at if sign else None,
                        publication.by if publication else None, publication.at if publication else None, at,
                        entry.id))
            return self._entry(db, entry_id)  # type: ignore[return-value]
        return await self._run(replace)  # type: ignore[no-any-return]

    async def delete_draft(self, entry_id: str) -> Entry:
        def delete(db: Db) -> Entry:
            entry = self._draft(db, entry_id)
            db.execute("DELETE FROM journal_grants WHERE record_id IN (SELECT record_id FROM journal_versions"
                       " WHERE entry_id = ?)", (entry_id,))
            db.execute("DELETE FROM journal_versions WHERE entry_id = ?", (entry_id,))
            db.execute("DELETE FROM journal_entries WHERE id = ?", (entry_id,))
            return entry
        return await self._run(delete)  # type: ignore[no-any-return]

    async def correct(self, entry_id: str, rec: NewRecord, case_recipient: str, at: int) -> tuple[Entry, int, bool]:
        """A correction (rättelse): version N+1 of a signed entry, signed now. A published entry's correction
        must be granted to the case's current key, so that the citizen sees it. Returns (entry, version,
        stored now)."""
        def correct(db: Db) -> tuple[Entry, int, bool]:
            entry = self._entry(db, entry_id)
            if entry is None:
                raise NotFound("no such journal entry", code="unknown_entry")
            if self._is_retry(db, rec):
                row = db.execute("SELECT version FROM journal_versions WHERE entry_id = ? AND record_id = ?",
                                 (entry_id, rec.id)).fetchone()
                if row is None:
                    raise Conflict("a record with this id exists", code="record_exists")
                return entry, int(row[0]), False
            if entry.status != "signed":
                raise Conflict("a draft is changed by saving it, not corrected", code="entry_not_signed")
            if entry.published_at is not None:
                self._require_case_grant(rec, case_recipient)
            (last,) = db.execute("SELECT max(version) FROM journal_versions WHERE entry_id = ?",
                                 (entry_id,)).fetchone()
            self._insert_version(db, entry_id, last + 1, rec, at, True)
            db.execute("UPDATE journal_entries SET updated_at = ? WHERE id = ?", (at, entry_id))
            return self._entry(db, entry_id), last + 1, True  # type: ignore[return-value]
        return await self._run(correct)  # type: ignore[no-any-return]

    async def publish(self, entry_id: str, grants: Sequence[tuple[str, str, bytes, bytes]], case_recipient: str,
                      by: str, device: str, at: int) -> tuple[Entry, bool]:
        """Case grants (record id, recipient, grant, signature) for the entry's versions; afterwards every
        version must have one for `case_recipient`. Returns (entry, published now for the first time)."""
        def publish(db: Db) -> tuple[Entry, bool]:
            entry = self._entry(db, entry_id)
            if entry is None:
                raise NotFound("no such journal entry", code="unknown_entry")
            if entry.status != "signed":
                raise Conflict("sign the entry before publishing it", code="entry_not_signed")
            versions = {r[0] for r in db.execute("SELECT record_id FROM journal_versions WHERE entry_id = ?",
                                                 (entry_id,))}
            for record_id, recipient, grant, signature in grants:
                if record_id not in versions:
                    raise InvalidInput("a grant names a record that is not a version of this entry",
                                       code="unknown_record")
                self._insert_grants(db, record_id, [(recipient, grant, signature)], by, device, at)
            granted = {r[0] for r in db.execute("SELECT record_id FROM journal_grants WHERE recipient = ? AND"
                                                " record_id IN (SELECT record_id FROM journal_versions WHERE"
                                                " entry_id = ?)", (case_recipient, entry_id))}
            if granted != versions:
                raise InvalidInput(f"every version must be granted to {case_recipient}", code="grant_missing")
            first = entry.published_at is None
            if first:
                db.execute("UPDATE journal_entries SET published_by = ?, published_at = ?, updated_at = ?"
                           " WHERE id = ?", (by, at, at, entry_id))
            return self._entry(db, entry_id), first  # type: ignore[return-value]
        return await self._run(publish)  # type: ignore[no-any-return]

    # -- remarks ---------------------------------------------------------------------------------------
    async def add_remark(self, case_id: str, entry_id: str | None, kind: str, responds_to: str | None,
                         rec: NewRecord, at: int) -> tuple[Remark, bool]:
        """A supplement, comment, dispute or response, with its grants and attachments. A response answers its
        dispute (the first response sets answered_by/at). Returns (remark, stored now)."""
        def add(db: Db) -> tuple[Remark, bool]:
            if self._is_retry(db, rec):
                row = db.execute(f"SELECT {_REMARK} FROM journal_remarks WHERE id = ? AND case_id = ?",
                                 (rec.id, case_id)).fetchone()
                if row is None:
                    raise Conflict("a record with this id exists", code="record_exists")
                return _remark(row), False
            if self._entry(db, rec.id) is not None:
                raise Conflict("a record with this id exists", code="record_exists")
            if kind == "dispute":
                entry = self._entry(db, entry_id or "")
                if entry is None or entry.published_at is None:
                    raise NotFound("no such journal entry", code="unknown_entry")
            if responds_to is not None:
                db.execute("UPDATE journal_remarks SET answered_by = ?, answered_at = ? WHERE id = ? AND"
                           " answered_at IS NULL", (rec.author, at, responds_to))
            db.execute(f"INSERT INTO journal_remarks ({_REMARK}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                       (rec.id, case_id, entry_id, kind, responds_to, rec.author, rec.author_device, rec.data, at))
            self._insert_grants(db, rec.id, rec.grants, rec.author, rec.author_device, at)
            BLOBS.attach(db, case_id, rec.author, rec.blobs, at)
            return _remark(db.execute(f"SELECT {_REMARK} FROM journal_remarks WHERE id = ?",
                                      (rec.id,)).fetchone()), True
        return await self._run(add)  # type: ignore[no-any-return]

    # -- attachments -----------------------------------------------------------------------------------
    async def add_blob(self, blob_id: str, case_id: str, uploaded_by: str, data: bytes, at: int) -> None:
        await self._run(lambda db: BLOBS.add(db, blob_id, case_id, uploaded_by, data, at))

    async def blob(self, case_id: str, blob_id: str) -> tuple[bytes, str, bool] | None:
        """(ciphertext, uploaded_by, attached) of one of the case's journal attachments."""
        return await self._run(lambda db: BLOBS.get(db, case_id, blob_id))  # type: ignore[no-any-return]
