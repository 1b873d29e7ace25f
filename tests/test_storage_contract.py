"""The feature aggregates' storage interfaces (chat/storage/<feature>.py), the same tests on both engines
(tests/engines.py): what each promises about conflicts, retries and what a later read sees. The features'
own tests drive the same code through a real server, on the engine SAMTAL_TEST_DATABASE picks."""
from __future__ import annotations

import asyncio

import pytest

from chat.audit.chain import AuditEvent
from chat.errors import Conflict, NotFound
from chat.model import Role
from chat.storage.applications import NewRecord
from chat.storage.key_history import HistoryLink
from chat.storage.key_log import IdentitySeal
from chat.storage.notifications import Preferences
from chat.storage.units import UnitSettings

from .conftest_unit import ANNA, CECILIA, DANA, ERIK, UNIT
from .test_storage import C1, C2, DEVICES, database, engine, store  # noqa: F401 (fixtures)

HOUR = 3_600_000
T0 = 1_800_000_000_000


def record(record_id: str, author=DANA, data: bytes = b"sealed", grants=(), blobs=()) -> NewRecord:  # type: ignore[no-untyped-def]
    return NewRecord(record_id, "application", author.id, DEVICES[author.id].id, data, list(grants), list(blobs))


# -- bookings -----------------------------------------------------------------------------------------
async def test_a_time_is_booked_once_and_an_office_keeps_its_id(store) -> None:  # type: ignore[no-untyped-def]
    bookings = store.bookings
    office = await bookings.add_office(UNIT.id, "Storgatan 1")
    assert await bookings.add_office(UNIT.id, "Storgatan 1") == office
    slot = await bookings.add_slot(UNIT.id, ANNA.id, T0, T0 + HOUR, ("in_person", "video"), office, ANNA.id)
    case1, case2 = await store.get_case(C1), await store.get_case(C2)
    citizen = await store.get_user(DANA.id)
    results = await asyncio.gather(
        bookings.book(slot.id, case1, "video", citizen, T0 - HOUR, lambda s: None),
        bookings.book(slot.id, case2, "video", await store.get_user(ERIK.id), T0 - HOUR, lambda s: None),
        return_exceptions=True)
    booked = [r for r in results if not isinstance(r, Exception)]
    assert len(booked) == 1 and [r.code for r in results if isinstance(r, Conflict)] == ["slot_taken"]
    assert [b.id for b in await bookings.bookings_of_case(booked[0].case_id)] == [booked[0].id]
    cancelled = await bookings.cancel(booked[0].id, citizen, T0 - HOUR)
    assert cancelled.status == "cancelled"
    with pytest.raises(Conflict):
        await bookings.cancel(booked[0].id, citizen, T0 - HOUR)
    await bookings.set_contact_email(DANA.id, "dana@example.se")
    await bookings.add_contact_email_if_missing(DANA.id, "other@example.se")
    assert await bookings.contact_email(DANA.id) == "dana@example.se"


# -- applications --------------------------------------------------------------------------------------
async def test_an_application_opens_a_case_once_and_a_retry_answers_what_was_stored(store) -> None:  # type: ignore[no-untyped-def]
    apps = store.applications
    first = await apps.submit(record("app-1", ERIK), "familjeratt", ERIK.id, "form", 1, False, "Ansökan", T0)
    again = await apps.submit(record("app-1", ERIK), "familjeratt", ERIK.id, "form", 1, False, "Ansökan", T0 + 1)
    assert first[2] and not again[2] and again[0] == first[0] and again[1] == first[1]
    assert first[1].unit_id == "familjeratt" and first[0].opened_case
    with pytest.raises(Conflict):
        await apps.submit(record("app-1", ERIK, b"other"), "familjeratt", ERIK.id, "form", 1, False, "x", T0)
    step, stored = await apps.step("app-1", "assessing", CECILIA.id, False, T0 + 2, ["received"])
    assert stored and step.status == "assessing"
    with pytest.raises(Conflict):
        await apps.step("app-1", "decided", CECILIA.id, False, T0 + 3, ["received"])
    assert await apps.add_grants("app-1", [("unit:1", b"g", b"s")], ANNA.id, DEVICES["anna"].id, T0) == 1
    assert await apps.add_grants("app-1", [("unit:1", b"g2", b"s2")], ANNA.id, DEVICES["anna"].id, T0) == 0


# -- journal -------------------------------------------------------------------------------------------
async def test_a_signed_journal_entry_changes_only_by_correction(store) -> None:  # type: ignore[no-untyped-def]
    journal = store.journal
    draft = NewRecord("j-1", "journal", ANNA.id, DEVICES["anna"].id, b"draft", [("unit:1", b"g", b"s")], [])
    entry, stored = await journal.create(C1, UNIT.id, draft, None, False, None, "case:1", T0)
    assert stored and entry.status == "draft"
    signed = NewRecord("j-2", "journal", ANNA.id, DEVICES["anna"].id, b"final", [("unit:1", b"g", b"s")], [])
    entry = await journal.replace_draft("j-1", signed, True, None, "case:1", T0 + 1)
    assert entry.status == "signed"
    with pytest.raises(Conflict):
        await journal.replace_draft("j-1", signed, True, None, "case:1", T0 + 2)
    fix = NewRecord("j-3", "journal", ANNA.id, DEVICES["anna"].id, b"fixed", [("unit:1", b"g", b"s")], [])
    assert (await journal.correct("j-1", fix, "case:1", T0 + 3))[1:] == (2, True)
    assert (await journal.correct("j-1", fix, "case:1", T0 + 4))[1:] == (2, False)  # a retry
    versions, disputes = await journal.entry_detail("j-1")
    assert [v.version for v in versions] == [1, 2] and disputes == 0
    with pytest.raises(NotFound):
        await journal.delete_draft("no-such-entry")
    # Disputes, as the home pages read them: metadata only, open until answered (chat/pending.py).
    await journal.publish("j-1", [("j-2", "case:1", b"g", b"s"), ("j-3", "case:1", b"g", b"s")], "case:1", ANNA.id,
                          DEVICES["anna"].id, T0 + 5)
    dispute, _ = await journal.add_remark(C1, "j-1", "dispute", None, record("j-4", grants=[("case:1", b"g", b"s")]),
                                          T0 + 6)
    assert [(d.id, d.case_id, d.entry_id, d.created_at, d.answered_at) for d in await journal.disputes([C1, C2])] == [
        ("j-4", C1, "j-1", T0 + 6, None)]
    answer = NewRecord("j-5", "journal", ANNA.id, DEVICES["anna"].id, b"sealed", [("case:1", b"g", b"s")], [])
    await journal.add_remark(C1, "j-1", "response", dispute.id, answer, T0 + 7)
    assert [d.answered_at for d in await journal.disputes([C1])] == [T0 + 7] and await journal.disputes([]) == []


# -- exchange ------------------------------------------------------------------------------------------
async def test_an_exchange_token_is_used_once_even_when_two_arrive_at_once(store) -> None:  # type: ignore[no-untyped-def]
    results = await asyncio.gather(*(store.exchange.use_token("unit@x", "jti-1", T0) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert await store.exchange.use_token("unit@x", "jti-2", T0)
    row = await store.exchange.append_audit(AuditEvent("exchange.refused", "denied"))
    assert [r.id for r in await store.exchange.audit_rows([row])] == [row]


# -- notifications -------------------------------------------------------------------------------------
async def test_what_waits_is_noted_seen_and_mailed_once(store) -> None:  # type: ignore[no-untyped-def]
    notes = store.notifications
    await notes.waiting(DANA.id, C1, "journal", None, T0)
    await notes.note({(DANA.id, C1): (T0, 3)}, {})
    await notes.note({(DANA.id, C1): (T0 + 5, 2)}, {})  # seq never goes down, since stays the oldest
    assert await notes.waiting_kinds(DANA.id) == [(C1, "journal"), (C1, "message")]
    await notes.set_preferences(DANA.id, Preferences(True, "sv"), T0)
    assert await notes.preferences(DANA.id) == Preferences(True, "sv")
    await store.bookings.set_contact_email(DANA.id, "dana@example.se")
    assert [d.user_id for d in await notes.due(T0 + 2 * HOUR, HOUR, HOUR)] == [DANA.id]
    await notes.mailed(DANA.id, T0 + 2 * HOUR)
    assert await notes.due(T0 + 2 * HOUR + 1, HOUR, HOUR) == []
    assert await notes.waiting_kinds(DANA.id) == []


# -- unit settings, protected identities, key history ----------------------------------------------------
async def test_unit_settings_protected_identities_and_history_links_keep_what_was_set(store) -> None:  # type: ignore[no-untyped-def]
    await store.unit_settings.put(UnitSettings(UNIT.id, "https://v.example/{booking}", CECILIA.id, T0))
    await store.unit_settings.put(UnitSettings(UNIT.id, None, CECILIA.id, T0 + 1))
    assert await store.unit_settings.all() == {UNIT.id: UnitSettings(UNIT.id, None, CECILIA.id, T0 + 1)}
    for _ in range(2):
        await store.protected_identities.set_protected(DANA.id, True, CECILIA.id, T0)
    assert await store.protected_identities.protected_users() == {DANA.id}
    await store.protected_identities.set_protected(DANA.id, False, CECILIA.id, T0)
    assert await store.protected_identities.protected_users() == set()
    link = HistoryLink("case", C1, UNIT.id, 2, 1, b"link", DEVICES["anna"].id, b"sig", T0)
    await store.key_history.add([link])
    await store.key_history.add([HistoryLink("case", C1, UNIT.id, 2, 1, b"other", DEVICES["anna"].id, b"s", T0)])
    assert await store.key_history.links("case", C1) == [link]  # the first link is kept
    assert await store.key_history.linked_epochs(UNIT.id, "case") == {C1: {2}}
    assert (await store.get_user(DANA.id)).role == Role.CITIZEN


async def test_an_identity_seal_is_kept_per_key_and_device_and_a_new_one_replaces_it(store) -> None:  # type: ignore[no-untyped-def]
    """The unit identity sealed to supervisors' devices (docs/protocol.md §18, Holders)."""
    key, other = b"k" * 32, b"o" * 32
    cecilia, anna = DEVICES[CECILIA.id].id, DEVICES[ANNA.id].id
    first = IdentitySeal(UNIT.id, key, cecilia, b"e" * 32, b"c" * 48, b"s" * 64, cecilia, T0)
    await store.key_log.put_identity_seal(first)
    await store.key_log.put_identity_seal(IdentitySeal(UNIT.id, other, cecilia, b"e" * 32, b"c" * 48, b"s" * 64,
                                                       cecilia, T0))
    again = IdentitySeal(UNIT.id, key, cecilia, b"E" * 32, b"C" * 48, b"S" * 64, anna, T0 + 1)
    await store.key_log.put_identity_seal(again)
    given = IdentitySeal(UNIT.id, key, anna, b"f" * 32, b"d" * 48, b"t" * 64, cecilia, T0 + 2)
    await store.key_log.put_identity_seal(given)
    assert await store.key_log.identity_seals(UNIT.id, key) == [again, given]
    assert [s.identity_key for s in await store.key_log.identity_seals(UNIT.id, other)] == [other]
