"""The core aggregates' storage interfaces (chat/storage/accounts.py, devices.py, cases.py, messages.py,
audit.py, sessions.py, security_events.py), one contract test each, the same on both engines (tests/engines.py).
Each test sees the store only through the interface it is about, the way domain code typed against it does;
tests/test_storage.py covers the finer points (batches, restarts, caches) of the same methods."""
from __future__ import annotations

import asyncio
import inspect
from dataclasses import replace
from pathlib import Path

import pytest

from chat.audit.chain import AuditEvent, verify
from chat.errors import Conflict
from chat.model import CaseKeyWrap, Municipality, Role, Substitution, Unit, UnitKeyEpoch, User
from chat.storage import (
    AccountStore,
    AuditStore,
    CaseStore,
    DeviceKeyStore,
    LoginAttempt,
    MessageStore,
    SecurityEventStore,
    SessionStore,
    Storage,
)
from chat.storage.sql.messages import STORED_SINCE

from .conftest_unit import ANNA, BO, CECILIA, DANA, ERIK, OTHER_UNIT, UNIT, UNN, make_case, make_device
from .test_storage import C1, C2, DEVICES, database, engine, open_store, store  # noqa: F401 (fixtures)

CORE = (AccountStore, DeviceKeyStore, CaseStore, MessageStore, AuditStore, SessionStore, SecurityEventStore)
T0 = 1_800_000_000_000


def members(interface: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(interface, inspect.isfunction) if not name.startswith("_")}


async def test_the_one_store_implements_every_core_interface_and_each_method_has_one_home(store) -> None:  # type: ignore[no-untyped-def]
    assert all(isinstance(store, interface) for interface in CORE)
    homes: dict[str, list[str]] = {}
    for interface in CORE:
        for name in members(interface):
            homes.setdefault(name, []).append(interface.__name__)
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}
    # Every method of the store is either one aggregate's or about the database itself.
    database_itself = {"open", "close", "database_generation", "probe_write"}
    assert members(Storage) - database_itself == set(homes)
    generation = await store.database_generation()
    await store.probe_write()  # /readyz's real write, on either engine
    assert len(generation) >= 16 and await store.database_generation() == generation


async def test_accounts_keep_people_and_identities(store) -> None:  # type: ignore[no-untyped-def]
    accounts: AccountStore = store
    await accounts.add_municipality(Municipality("annan", "Annan kommun"))
    await accounts.add_unit(Unit("annan-enhet", "annan", "Annan enhet"))
    assert (await accounts.get_unit("annan-enhet")).municipality_id == "annan"
    assert (await accounts.get_municipality("annan")).name == "Annan kommun"
    assert "annan-enhet" in [u.id for u in await accounts.all_units()]
    assert await accounts.get_user("nobody") is None and await accounts.get_unit("none") is None
    assert (await accounts.get_user_by_username("anna")).id == ANNA.id
    assert [u.id for u in await accounts.staff_of_unit(UNIT.id)] == [ANNA.id, BO.id, CECILIA.id, UNN.id]
    await accounts.get_user(ANNA.id)  # read once (a cache may keep it)
    await accounts.update_user(replace(ANNA, role=Role.SUPERVISOR, display_name="Anna L."))
    assert (await accounts.get_user(ANNA.id)).role is Role.SUPERVISOR
    # Two first sign-ins of one person at once make one account.
    made = await asyncio.gather(*(accounts.add_user_with_identity(
        User(f"new-{i}", f"new-{i}", "Ny Person", Role.CITIZEN, None), b"i" * 32, "citizen") for i in range(3)))
    assert len({u.id for u in made}) == 1
    assert (await accounts.user_by_identity(b"i" * 32)).id == made[0].id
    assert await accounts.user_by_identity(b"x" * 32) is None


async def test_devices_and_keys_only_grow_one_epoch_at_a_time(store) -> None:  # type: ignore[no-untyped-def]
    keys: DeviceKeyStore = store
    laptop = make_device("dev-dana-2", DANA, created_at=1_700_000_000_001)
    await keys.add_device(laptop)
    assert [d.id for d in await keys.devices_of_user(DANA.id)] == [DEVICES["dana"].id, laptop.id]
    await keys.revoke_device(laptop.id, T0)
    await keys.revoke_device(laptop.id, T0 + 1)  # revoked once: the first time stays
    assert (await keys.get_device(laptop.id)).revoked_at == T0
    epoch = UnitKeyEpoch(UNIT.id, 1, b"pub", DEVICES["anna"].id, b"sig", T0)
    await keys.add_unit_key_epoch(epoch, [])
    with pytest.raises(Conflict):
        await keys.add_unit_key_epoch(epoch, [])
    assert [e.epoch for e in await keys.unit_key_epochs(UNIT.id)] == [1]
    # Two devices starting the same case epoch at once: one wins, the other is told.
    wrap = CaseKeyWrap(C1, 1, ANNA.id, b"enc", b"ct", DEVICES["anna"].id, b"sig", T0)
    results = await asyncio.gather(*(keys.add_case_key_epoch(C1, 1, DEVICES["anna"].id, [wrap], T0)
                                     for _ in range(2)), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"]
    assert await keys.current_case_epoch(C1) == 1 and await keys.current_case_epoch(C2) == 0
    await keys.add_case_key_wraps([replace(wrap, ct=b"other"), replace(wrap, recipient=DANA.id)])
    assert [(w.recipient, w.ct) for w in await keys.case_key_wraps(C1)] == [(ANNA.id, b"ct"), (DANA.id, b"ct")]
    overview = {s.case.id: s for s in await keys.case_key_overview(UNIT.id)}
    assert overview[C1].epoch == 1 and overview[C1].holders == {ANNA.id, DANA.id} and overview[C2].epoch == 0


async def test_cases_are_assigned_substituted_and_left_in_one_step(store) -> None:  # type: ignore[no-untyped-def]
    cases: CaseStore = store
    await cases.get_case(C1)  # read once (a cache may keep it)
    await cases.assign_case(C1, BO.id)
    assert (await cases.get_case(C1)).assigned_to == BO.id
    assert [c.id for c in await cases.cases_of_citizen(DANA.id)] == [C1]
    assert {C1, C2} <= {c.id for c in await cases.cases_of_unit(UNIT.id)}
    sub = await cases.add_substitution(Substitution(0, UNIT.id, BO.id, ANNA.id, T0, T0 + 10, CECILIA.id))
    assert [s.id for s in await cases.substitutions_of_unit(UNIT.id, T0 + 5)] == [sub]
    assert await cases.revoke_substitution(UNIT.id, sub, T0 + 1)
    assert not await cases.revoke_substitution(UNIT.id, sub, T0 + 2)  # once
    assert not await cases.revoke_substitution(OTHER_UNIT.id, sub, T0 + 2)  # only by its own unit
    assert await cases.substitutions_of_unit(UNIT.id, T0 + 5) == []
    await cases.remove_from_unit(BO.id, UNIT.id, T0 + 3)
    assert (await cases.get_case(C1)).assigned_to is None
    assert (await store.get_user(BO.id)).unit_id is None
    await cases.add_case(make_case("c9", ERIK, assigned=None))
    await cases.set_handled("c9", ANNA.id, T0)
    assert (await store.case_activity("c9", ANNA.id)).handled_at == T0


async def test_messages_receipts_and_attachments(store) -> None:  # type: ignore[no-untyped-def]
    messages: MessageStore = store
    acks = [await messages.append_message(C1, f"m{i}", DEVICES["dana"].id, DANA.id, b"e%d" % i) for i in range(3)]
    assert [a.seq for a in acks] == [1, 2, 3]
    again = await messages.enqueue_message(C1, "m1", DEVICES["dana"].id, DANA.id, b"e1")
    assert again.duplicate and again.seq == 2
    with pytest.raises(Conflict):
        await messages.append_message(C1, "m1", DEVICES["dana"].id, DANA.id, b"other")
    assert [m.envelope for m in await messages.messages_after(C1, 1, 10)] == [b"e1", b"e2"]
    assert await messages.last_seq(C1) == 3 and await messages.last_seq(C2) == 0
    device, case, epoch = await messages.send_context(DEVICES["dana"].id, C1)
    assert (device, case, epoch) == (await store.get_device(DEVICES["dana"].id), await store.get_case(C1), 0)
    assert await messages.send_context("no-device", "no-case") == (None, None, 0)
    assert [(m.seq, m.sender_is_citizen) for m in await messages.recent_message_meta(C1, 2)] == [(2, True), (3, True)]
    await messages.mark_receipt(C1, ANNA.id, delivered_seq=3, read_seq=2)
    marks = await messages.mark_receipt(C1, ANNA.id, delivered_seq=1, read_seq=1)  # never lowered
    assert (marks.delivered_seq, marks.read_seq) == (3, 2)
    assert [r.user_id for r in await messages.receipts_of_case(C1)] == [ANNA.id]
    activity = await messages.case_activity(C1, ANNA.id)
    assert activity.unread == 1 and (await messages.case_activities([C1], ANNA.id))[C1] == (3, activity)
    await messages.add_blob("b1", C1, DANA.id, b"sealed bytes", T0)
    assert await messages.get_blob(C1, "b1") == b"sealed bytes"
    assert await messages.get_blob(C2, "b1") is None  # only in its own case
    assert await messages.attachment_bytes_of(DANA.id) == len(b"sealed bytes")
    # A node that missed wake-ups asks which cases got messages since a moment (chat/messaging/cluster.py).
    stored = sorted(m.stored_at for m in await messages.messages_after(C1, 0, 10))
    assert await messages.messages_stored_since(stored[0]) == [(C1, 1, 3)]
    assert await messages.messages_stored_since(stored[-1] + 1) == []


async def test_the_catch_up_read_uses_the_stored_at_index_not_a_scan(engine: str, store) -> None:  # type: ignore[no-untyped-def]
    """messages_stored_since runs on every missed wake-up; over years of messages a scan would stall the node."""
    if engine != "sqlite":
        pytest.skip("PostgreSQL picks its plan from its statistics; SQLite's planner is the one that chose a scan")
    import sqlite3

    with sqlite3.connect(store.path) as db:
        plan = " ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {STORED_SINCE}", (T0,)))
    assert "messages_stored_at" in plan, plan


async def test_the_audit_log_is_one_chain_searched_by_unit(store) -> None:  # type: ignore[no-untyped-def]
    audit: AuditStore = store
    ids = [await audit.append_audit(AuditEvent("case.read", "allowed", ANNA.id, "caseworker", UNIT.id, C1, at=T0 + i))
           for i in range(3)]
    other = await audit.append_audit(AuditEvent("case.read", "allowed", "olle", "caseworker", OTHER_UNIT.id, "c3"))
    assert ids == sorted(ids) and other > ids[-1]
    assert verify(await audit.audit_rows()).intact
    found = await audit.audit_search(UNIT.id, None, C1, ANNA.id, T0 + 1, None, 0, 10, False)
    assert [r.id for r in found] == ids[1:]
    assert len(await audit.audit_search(UNIT.id, None, None, None, None, None, 0, 2, True)) == 2
    first = await audit.add_finding(UNIT.id, ids[0], "greta", "ok", "", T0)
    second = await audit.add_finding(UNIT.id, ids[1], "greta", "question", "varför?", T0 + 1)
    assert [f[0] for f in await audit.findings(UNIT.id)] == [second, first]
    assert await audit.findings(OTHER_UNIT.id) == []


async def test_sessions_sign_in_attempts_and_the_shared_rate_limit(store) -> None:  # type: ignore[no-untyped-def]
    sessions: SessionStore = store
    await sessions.add_session(b"h" * 32, DANA.id, T0, T0 + 100)
    await sessions.add_session(b"k" * 32, DANA.id, T0, T0 + 100)
    await sessions.touch_session(b"h" * 32, T0 + 5)
    assert await sessions.get_session(b"h" * 32) == (DANA.id, T0 + 5, T0 + 100)
    await sessions.delete_session(b"h" * 32)
    assert await sessions.get_session(b"h" * 32) is None
    assert await sessions.delete_sessions_of_user(DANA.id) == 1
    attempt = LoginAttempt(b"s" * 32, "citizen", "n", "v", b"b" * 32, "/", T0)
    await sessions.add_login_attempt(attempt, forget_before=0)
    taken = await asyncio.gather(*(sessions.take_login_attempt(b"s" * 32, T0 + i) for i in range(1, 4)))
    assert sorted(t.used_at is None for t in taken) == [False, False, True]  # one first use only
    await sessions.add_login_attempt(replace(attempt, state_hash=b"t" * 32), forget_before=T0 + 1)
    assert await sessions.take_login_attempt(b"s" * 32, T0 + 9) is None  # forgotten
    # Two a minute: the third waits 30 s, another key does not, and a minute later the bucket is full again.
    assert [await sessions.take_allowance(b"a" * 32, 2, T0) for _ in range(3)] == [0, 0, 30]
    assert await sessions.take_allowance(b"b" * 32, 2, T0) == 0
    assert await sessions.take_allowance(b"a" * 32, 2, T0 + 31_000) == 0
    assert await sessions.take_allowance(b"a" * 32, 2, T0 + 31_000) == 29  # 1.03 tokens were there
    assert [await sessions.take_allowance(b"a" * 32, 2, T0 + 200_000) for _ in range(2)] == [0, 0]


async def test_the_rate_limit_is_one_allowance_across_server_processes(engine: str, database: Path | str,
                                                                        store) -> None:  # type: ignore[no-untyped-def]
    if engine != "postgres":
        pytest.skip("one server process per SQLite data folder")
    others = [await open_store(database) for _ in range(2)]
    try:
        servers: list[SessionStore] = [store, *others]
        waits = await asyncio.gather(*(servers[i % 3].take_allowance(b"c" * 32, 5, T0) for i in range(12)))
    finally:
        for other in others:
            await other.close()
    assert sorted(waits) == [0] * 5 + [12] * 7  # five a minute, whichever server each request reached


async def test_security_events_are_kept_newest_first(store) -> None:  # type: ignore[no-untyped-def]
    events: SecurityEventStore = store
    for i in range(3):
        await events.add_security_event("bad_signature", user_id=DANA.id, device_id=None, case_id=C1,
                                        detail=f"n{i}", at=T0 + i)
    assert [e["detail"] for e in await events.security_events(limit=2)] == ["n2", "n1"]

