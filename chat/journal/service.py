"""Dokumentation: the case's journal. Staff write entries as drafts, sign them (final: a change is then a
correction, a new version, and the old one stays readable), and publish them to the citizen by granting
them to the case key; the citizen adds supplements, disputes a published entry (the unit responds), and
comments on a draft a caseworker shares live. Every text is a sealed record the server cannot open
(crypto/record.py); the server keeps who did what when, checks every upload (chat/records.py), and decides
who sees what: a citizen never gets an unpublished entry, not even that it exists. See docs/documentation.md."""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from chat.audit.auditor import Auditor
from chat.cases.assignment import Assignments
from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.journal.live import LiveDraft, LiveDrafts, Shared
from chat.messaging.delivery import check_relayed
from chat.messaging.hub import Subscriber
from chat.model import Case, MandateKind, Role, User, now_ms
from chat.notifications import notices as notifications
from chat.policy import Action, decide, mandate_for
from chat.records import (
    GrantUpload,
    check_grant_upload,
    check_grants,
    check_record_upload,
    session_device,
)
from chat.storage import Storage
from chat.storage.applications import Grant, NewRecord
from chat.storage.journal import Entry, JournalStore, Publication, Remark, Version

KIND_ENTRY = "journal.entry"
KIND_SUPPLEMENT = "journal.supplement"
KIND_REMARK = "journal.remark"  # the citizen's comment on a live draft, or dispute of a published entry
KIND_RESPONSE = "journal.response"
NOTIFY_KIND = "journal"  # chat/notifications/notices.py: something new waits for the citizen in the documentation
MAX_GRANTS = 20
MAX_BLOBS = 60


class Fanout(Protocol):
    """What the web layer pushes to the people of a case (web/journal.py)."""

    def changed(self, case: Case, entry_id: str | None, what: str, at: int, citizen: bool) -> None:
        """Metadata of a change, to the unit's staff and (`citizen`) the case's citizen."""

    def live(self, draft: LiveDraft) -> None:
        """A draft's newest snapshot, to the case's citizen and the staff who have the case open."""

    def live_end(self, case: Case, entry_id: str, reason: str) -> None:
        """A draft is no longer shared."""


@dataclass(frozen=True, slots=True)
class JournalView:
    case: Case
    case_epoch: int
    citizen_devices: list[str]
    entries: list[Entry]
    versions: list[Version]
    remarks: list[Remark]
    grants: list[Grant]  # those the asking device can use
    live: list[LiveDraft | Shared]


def _unknown_entry() -> NotFound:
    return NotFound("no such journal entry", code="unknown_entry")


class Journal:
    def __init__(self, store: Storage, jstore: JournalStore, assignments: Assignments, fanout: Fanout) -> None:
        self.store = store
        self.jstore = jstore
        self.assignments = assignments
        self.fanout = fanout
        self.auditor = Auditor(store)
        self.live = LiveDrafts()

    # -- access ---------------------------------------------------------------------------------------
    async def _require(self, user: User, case: Case, action: Action) -> None:
        acting_for = await self.assignments.acting_for(user, case.unit_id) if user.is_staff else frozenset()
        decision = decide(user, action, case=case, acting_for=acting_for)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")

    async def _case(self, user: User, case_id: str, action: Action) -> Case:
        case = await self.store.get_case(case_id)
        if case is None:
            raise NotFound("unknown case", code="unknown_case")
        await self._require(user, case, action)
        return case

    @staticmethod
    def visible(user: User, entry: Entry) -> bool:
        """The citizen sees published entries only; the unit's staff see every entry of the unit's cases."""
        return user.role != Role.CITIZEN or entry.published_at is not None

    async def withheld_from(self, user: User, case: Case) -> set[str]:
        """The entries `user` does not see because they are withheld from the case's guardians after a harm
        assessment (DOMAIN rule 5): for a guardian acting in the case, none for anyone else."""
        mandate = mandate_for(user, case) if user.role == Role.CITIZEN else None
        if mandate is None or mandate.kind != MandateKind.GUARDIAN:
            return set()
        return {w.entry_id for w in await self.store.mandates.withheld(case.id)}

    async def _entry(self, user: User, entry_id: str, action: Action, live_draft: bool = False) -> tuple[Entry, Case]:
        """The entry and its case, if the user may see it and do `action` on it. Whoever may not see it (an
        outsider; the citizen, while it is unpublished) is told it does not exist, as for a made-up id.
        `live_draft`: a draft shared live counts as seen (the citizen comments on it)."""
        entry = await self.jstore.entry(entry_id)
        case = await self.store.get_case(entry.case_id) if entry else None
        if entry is None or case is None or not decide(user, Action.JOURNAL_READ, case=case):
            raise _unknown_entry()
        if not self.visible(user, entry) and not (live_draft and self.live.is_shared(case.id, entry.id)):
            raise _unknown_entry()
        if entry.id in await self.withheld_from(user, case):
            raise _unknown_entry()
        await self._require(user, case, action)
        return entry, case

    async def _own_draft(self, user: User, entry_id: str) -> tuple[Entry, Case]:
        entry, case = await self._entry(user, entry_id, Action.JOURNAL_WRITE)
        if entry.status != "draft":
            raise Conflict("the entry is signed; a change is a correction (a new version)", code="entry_signed")
        if entry.author != user.id:
            raise Forbidden("only the draft's author changes, signs or deletes it", code="forbidden")
        return entry, case

    # -- checking uploads -------------------------------------------------------------------------------
    async def _case_recipient(self, case: Case) -> str:
        epoch = await self.store.current_case_epoch(case.id)
        if epoch < 1:
            raise Conflict("the case has no key yet; try again later", code="no_case_key")
        return f"case:{epoch}"

    async def _record(self, user: User, device_id: str, raw: bytes, kind: str, case: Case,
                      grants: Sequence[GrantUpload], for_citizen: bool, blobs: Sequence[str] = ()) -> NewRecord:
        """A checked record of the case and its checked grants: one to the unit's current key always; one to
        the case's current key when the citizen is to read it (`for_citizen`), and none to the case key
        otherwise: an unpublished entry is the unit's alone."""
        rec = await check_record_upload(self.store, user, device_id, raw, kinds={kind}, unit_id=case.unit_id,
                                        case_id=case.id)
        if len(blobs) > MAX_BLOBS or len(set(blobs)) != len(blobs):
            raise InvalidInput(f"at most {MAX_BLOBS} different attachments", code="invalid_field")
        epochs = [e.epoch for e in await self.store.unit_key_epochs(case.unit_id)]
        if not epochs:
            raise Conflict("the unit has no key yet; try again later", code="no_unit_key")
        case_recipient = await self._case_recipient(case) if for_citizen else None
        allowed = {f"unit:{e}" for e in epochs}
        if for_citizen:
            allowed |= {f"case:{e}" for e in range(1, await self.store.current_case_epoch(case.id) + 1)}
        signer = await session_device(self.store, user, device_id)
        checked = check_grants(signer, rec.header.record_id, grants, allowed, MAX_GRANTS)
        recipients = {recipient for recipient, _, _ in checked}
        for required in (f"unit:{epochs[-1]}", case_recipient):
            if required is not None and required not in recipients:
                raise InvalidInput(f"the record must be granted to {required}", code="grant_missing")
        return NewRecord(rec.header.record_id, kind, user.id, device_id, rec.raw, checked, tuple(blobs))

    # -- reading ------------------------------------------------------------------------------------------
    async def view(self, user: User, device_id: str | None, case_id: str) -> JournalView:
        case = await self._case(user, case_id, Action.JOURNAL_READ)
        entries, versions, remarks, grants = await self.jstore.case_journal(case.id)
        citizen = user.role == Role.CITIZEN
        if citizen:  # published entries and their (signed) versions only; every remark is the citizen's or for them
            withheld = await self.withheld_from(user, case)
            entries = [e for e in entries if e.published_at is not None and e.id not in withheld]
            shown = {e.id for e in entries}
            versions = [v for v in versions if v.entry_id in shown and v.signed_at is not None]
            remarks = [r for r in remarks if r.entry_id is None or r.entry_id not in withheld]
            await notifications.seen(self.store, user.id, case.id, NOTIFY_KIND)
        records = {v.record_id for v in versions} | {r.id for r in remarks}
        usable = [g for g in grants if g.record_id in records and (
            g.recipient.startswith("case:") or g.recipient == device_id or (not citizen
                                                                           and g.recipient.startswith("unit:")))]
        devices = [d.id for d in await self.store.devices_of_user(case.citizen_id) if d.active]
        return JournalView(case, await self.store.current_case_epoch(case.id), devices, entries, versions, remarks,
                           usable, self.live.of_case(case.id))

    async def export(self, user: User, case_id: str) -> Case:
        """The citizen exports their file (Exportera min akt, made in their browser from what it can open). The
        server sees no content; it only checks that this is the case's citizen, for the audit row (DOMAIN rule 7:
        every export is logged)."""
        case = await self._case(user, case_id, Action.JOURNAL_READ)
        if user.id != case.citizen_id and mandate_for(user, case) is None:
            raise Forbidden("the citizen or their representative exports the file", code="forbidden")
        return case

    # -- entries ----------------------------------------------------------------------------------------------
    async def create(self, user: User, device_id: str, case_id: str, raw: bytes, grants: Sequence[GrantUpload],
                     sign: bool, publish: bool, source_seq: int | None) -> tuple[Entry, bool]:
        """A new entry: a draft, or signed at once, and published at once too. Returns (entry, stored now)."""
        case = await self._case(user, case_id, Action.JOURNAL_WRITE)
        if publish and not sign:
            raise InvalidInput("only a signed entry is published: publish needs sign", code="invalid_field")
        if publish:
            await self._require(user, case, Action.JOURNAL_PUBLISH)
        rec = await self._record(user, device_id, raw, KIND_ENTRY, case, grants, for_citizen=publish)
        at = now_ms()
        recipient = await self._case_recipient(case) if publish else ""
        entry, new = await self.jstore.create(case.id, case.unit_id, rec, source_seq, sign,
                                              Publication(user.id, at) if publish else None, recipient, at)
        if new:
            self.fanout.changed(case, entry.id, "published" if publish else "signed" if sign else "created", at,
                                citizen=publish)
            if publish:
                await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return entry, new

    async def save_draft(self, user: User, device_id: str, entry_id: str, raw: bytes,
                         grants: Sequence[GrantUpload]) -> Entry:
        entry, case = await self._own_draft(user, entry_id)
        rec = await self._record(user, device_id, raw, KIND_ENTRY, case, grants, for_citizen=False)
        at = now_ms()
        entry = await self.jstore.replace_draft(entry.id, rec, False, None, "", at)
        self.fanout.changed(case, entry.id, "draft", at, citizen=False)
        return entry

    async def sign(self, user: User, device_id: str, entry_id: str, raw: bytes, grants: Sequence[GrantUpload],
                   publish: bool) -> Entry:
        """The final content becomes version 1, signed by its author; sharing it live ends."""
        entry, case = await self._own_draft(user, entry_id)
        if publish:
            await self._require(user, case, Action.JOURNAL_PUBLISH)
        rec = await self._record(user, device_id, raw, KIND_ENTRY, case, grants, for_citizen=publish)
        at = now_ms()
        recipient = await self._case_recipient(case) if publish else ""
        entry = await self.jstore.replace_draft(entry.id, rec, True, Publication(user.id, at) if publish else None,
                                                recipient, at)
        await self._end_live(case, entry.id, "signed")
        self.fanout.changed(case, entry.id, "published" if publish else "signed", at, citizen=publish)
        if publish:
            await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return entry

    async def correct(self, user: User, device_id: str, entry_id: str, raw: bytes,
                      grants: Sequence[GrantUpload]) -> tuple[Entry, int, bool]:
        """A correction (rättelse) of a signed entry: its next version, signed now, by whoever may write the
        case. A published entry's correction is granted to the case key: the citizen sees the correction."""
        entry, case = await self._entry(user, entry_id, Action.JOURNAL_WRITE)
        if entry.status != "signed":
            raise Conflict("a draft is changed by saving it, not corrected", code="entry_not_signed")
        published = entry.published_at is not None
        rec = await self._record(user, device_id, raw, KIND_ENTRY, case, grants, for_citizen=published)
        at = now_ms()
        entry, version, new = await self.jstore.correct(entry.id, rec, await self._case_recipient(case)
                                                        if published else "", at)
        if new:
            self.fanout.changed(case, entry.id, "corrected", at, citizen=published)
            if published:
                await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return entry, version, new

    async def publish(self, user: User, device_id: str, entry_id: str,
                      uploads: Sequence[tuple[str, GrantUpload]]) -> tuple[Entry, bool]:
        """Make a signed entry readable to the citizen: a case grant for each of its versions. Publishing
        again after a case key rotation adds grants for the new epoch. Returns (entry, published now)."""
        entry, case = await self._entry(user, entry_id, Action.JOURNAL_PUBLISH)
        if entry.status != "signed":
            raise Conflict("sign the entry before publishing it", code="entry_not_signed")
        if len(uploads) > MAX_GRANTS:
            raise InvalidInput(f"at most {MAX_GRANTS} grants", code="invalid_field")
        recipient = await self._case_recipient(case)
        signer = await session_device(self.store, user, device_id)
        checked = []
        for record_id, upload in uploads:
            if upload.recipient != recipient:
                raise InvalidInput(f"publishing grants the versions to {recipient}", code="grant_recipient")
            check_grant_upload(signer, record_id, upload)
            checked.append((record_id, upload.recipient, upload.grant, upload.signature))
        at = now_ms()
        entry, first = await self.jstore.publish(entry.id, checked, recipient, user.id, device_id, at)
        self.fanout.changed(case, entry.id, "published", at, citizen=True)
        if first:
            await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return entry, first

    async def delete(self, user: User, entry_id: str) -> Entry:
        """A draft is not yet part of the record: its author may discard it."""
        entry, case = await self._own_draft(user, entry_id)
        entry = await self.jstore.delete_draft(entry.id)
        await self._end_live(case, entry.id, "deleted")
        self.fanout.changed(case, entry.id, "deleted", now_ms(), citizen=False)
        return entry

    # -- the citizen's remarks, the unit's responses -----------------------------------------------------------
    async def supplement(self, user: User, device_id: str, case_id: str, raw: bytes, grants: Sequence[GrantUpload],
                         blobs: Sequence[str], entry_id: str | None) -> tuple[Remark, Case, bool]:
        """Tillägg: the citizen adds to the documentation of the case, or of one published entry."""
        case = await self._case(user, case_id, Action.JOURNAL_REMARK)
        if entry_id is not None:
            entry, _ = await self._entry(user, entry_id, Action.JOURNAL_REMARK)
            if entry.case_id != case.id:
                raise _unknown_entry()
        rec = await self._record(user, device_id, raw, KIND_SUPPLEMENT, case, grants, for_citizen=True, blobs=blobs)
        at = now_ms()
        remark, new = await self.jstore.add_remark(case.id, entry_id, "supplement", None, rec, at)
        if new:
            self.fanout.changed(case, entry_id, "supplement", at, citizen=True)
        return remark, case, new

    async def remark(self, user: User, device_id: str, entry_id: str, raw: bytes,
                     grants: Sequence[GrantUpload]) -> tuple[Remark, Case, bool]:
        """The citizen's comment on a draft shared live with them, or dispute of a published entry ("Jag anser
        att detta är felaktigt"), open until the unit responds."""
        entry, case = await self._entry(user, entry_id, Action.JOURNAL_REMARK, live_draft=True)
        kind = "dispute" if entry.published_at is not None else "comment"
        rec = await self._record(user, device_id, raw, KIND_REMARK, case, grants, for_citizen=True)
        at = now_ms()
        remark, new = await self.jstore.add_remark(case.id, entry.id, kind, None, rec, at)
        if new:  # a comment concerns a draft: the citizen's other devices are not told of drafts
            self.fanout.changed(case, entry.id, kind, at, citizen=kind == "dispute")
        return remark, case, new

    async def respond(self, user: User, device_id: str, remark_id: str, raw: bytes,
                      grants: Sequence[GrantUpload]) -> tuple[Remark, Case, bool]:
        """The unit's response to a dispute; the dispute is answered."""
        dispute = await self.jstore.remark(remark_id)
        case = await self.store.get_case(dispute.case_id) if dispute else None
        if dispute is None or case is None or not decide(user, Action.JOURNAL_READ, case=case):
            raise NotFound("no such remark", code="unknown_remark")
        await self._require(user, case, Action.JOURNAL_RESPOND)
        if dispute.kind != "dispute":
            raise Conflict("only a dispute is answered", code="not_a_dispute")
        rec = await self._record(user, device_id, raw, KIND_RESPONSE, case, grants, for_citizen=True)
        at = now_ms()
        remark, new = await self.jstore.add_remark(case.id, dispute.entry_id, "response", dispute.id, rec, at)
        if new:
            self.fanout.changed(case, dispute.entry_id, "response", at, citizen=True)
            await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return remark, case, new

    # -- attachments of supplements ------------------------------------------------------------------------------
    async def upload_blob(self, user: User, case_id: str, data: bytes) -> tuple[str, Case]:
        case = await self._case(user, case_id, Action.JOURNAL_REMARK)
        blob_id = secrets.token_urlsafe(16)
        await self.jstore.add_blob(blob_id, case.id, user.id, data, now_ms())
        return blob_id, case

    async def blob(self, user: User, case_id: str, blob_id: str) -> tuple[bytes, Case]:
        case = await self._case(user, case_id, Action.JOURNAL_READ)
        found = await self.jstore.blob(case.id, blob_id)
        if found is None or not (found[2] or found[1] == user.id):
            raise NotFound("no such attachment", code="unknown_blob")
        return found[0], case

    # -- drafts shared live ------------------------------------------------------------------------------------
    async def share(self, sub: Subscriber, case_id: str, entry_id: str, raw: bytes, env: str) -> LiveDraft:
        """A snapshot of the sender's own draft, an envelope under the case key checked as a call's signal is
        (chat/delivery.check_relayed); kept in memory as the draft's newest and relayed."""
        await self._case(sub.user, case_id, Action.JOURNAL_WRITE)  # a citizen is refused before anything is looked up
        entry, case = await self._own_draft(sub.user, entry_id)
        if entry.case_id != case_id:
            raise _unknown_entry()
        await check_relayed(self.store, case, sub.user, sub.device_id, raw)
        draft, replaced = self.live.put(case, entry.id, sub, env)
        if replaced is not None:  # the same person shares it from another page now
            await self._audit_end(replaced, "replaced")
        if draft.snapshots == 1:
            await self.auditor.record(sub.user, "journal.live.started", "allowed", case_id=case.id,
                                      unit_id=case.unit_id, detail={"entry": entry.id, "device": sub.device_id})
        self.fanout.live(draft)
        return draft

    async def stop_sharing(self, sub: Subscriber, case_id: str, entry_id: str) -> None:
        """End this connection's share. Its own share ends even if its person may no longer write in the case
        (reassigned meanwhile); without one, the frame is decided as journal.write (a citizen is refused)."""
        draft = self.live.end(case_id, entry_id, sub)
        if draft is None:
            await self._case(sub.user, case_id, Action.JOURNAL_WRITE)
            return
        await self._audit_end(draft, "stopped")
        self.fanout.live_end(draft.case, entry_id, "stopped")

    async def connection_closed(self, sub: Subscriber) -> None:
        for draft in self.live.of_connection(sub):
            if self.live.end(draft.case.id, draft.entry_id, sub) is not None:
                await self._audit_end(draft, "disconnected")
                self.fanout.live_end(draft.case, draft.entry_id, "disconnected")

    async def _end_live(self, case: Case, entry_id: str, reason: str) -> None:
        draft = self.live.end(case.id, entry_id)
        if draft is not None:
            await self._audit_end(draft, reason)
            self.fanout.live_end(case, entry_id, reason)

    async def _audit_end(self, draft: LiveDraft, reason: str) -> None:
        """How long a draft was shared and how many snapshots went out: the server sees that much."""
        await self.auditor.record(draft.sub.user, "journal.live.ended", "allowed", case_id=draft.case.id,
                                  unit_id=draft.case.unit_id,
                                  detail={"entry": draft.entry_id, "device": draft.sub.device_id, "reason": reason,
                                          "seconds": (now_ms() - draft.started_at) // 1000,
                                          "snapshots": draft.snapshots})
