"""The core storage contract, on both engines (SQLite file, PostgreSQL schema: tests/engines.py): schema and
migrations, per-case seqs under concurrency, idempotent appends, durability across a restart, key epochs,
receipts, sessions and security events. A few tests are about the SQLite file itself and say so."""
from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import pytest

import chat
from chat.errors import Conflict
from chat.model import Ack, CaseKeyWrap, ReceiptMarks, Unit, UnitKeyEpoch, UnitKeyGrant
from chat.storage import engines as storage_engines
from chat.storage.sql.batching import MAX_BATCH
from chat.storage.sql.store import (
    SqlStore as SqliteStore,  # either engine's store: the SQL is shared
)

from .conftest_unit import (
    ANNA,
    CECILIA,
    DANA,
    ERIK,
    FRIDA,
    MUNICIPALITY,
    OLLE,
    OTHER_UNIT,
    UNIT,
    USERS,
    make_case,
    make_device,
)
from .engines import ENGINES, TABLES, postgres_url

CASES = (make_case("c1", DANA), make_case("c2", ERIK), make_case("c3", FRIDA, OTHER_UNIT, OLLE))
C1, C2, C3 = (case.id for case in CASES)
DEVICES = {user.id: make_device(f"dev-{user.id}", user) for user in (DANA, ERIK, FRIDA, ANNA, CECILIA, OLLE)}


async def open_store(database: Path | str) -> SqliteStore:
    store = storage_engines.make_store(database)
    await store.open()
    return store  # type: ignore[return-value]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(engine: str, tmp_path: Path) -> Path | str:
    """The address of an empty database on the engine: a SQLite file, or a fresh PostgreSQL schema."""
    return tmp_path / "data" / "samtal.sqlite3" if engine == "sqlite" else postgres_url()


@pytest.fixture
def db_path(database: Path | str) -> Path:
    """The SQLite file, for the tests about the file itself."""
    if not isinstance(database, Path):
        pytest.skip("about the SQLite file")
    return database


@pytest.fixture
async def store(database: Path | str) -> AsyncIterator[SqliteStore]:
    store = await open_store(database)
    await store.add_municipality(MUNICIPALITY)
    for unit in (UNIT, OTHER_UNIT):
        await store.add_unit(unit)
    for user in USERS:
        await store.add_user(user)
    for device in DEVICES.values():
        await store.add_device(device)
    for case in CASES:
        await store.add_case(case)
    yield store
    await store.close()


@contextlib.contextmanager
def raw_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection beside the store's own, as an operator or an attacker with file access has."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


async def count(store: SqliteStore, sql: str, *params: object) -> int:
    return int(await store.engine.transaction(lambda db: db.execute(sql, params).fetchone()[0]))


async def append(store: SqliteStore, case_id: str, msg_id: str, envelope: bytes | None = None) -> Ack:
    return await store.append_message(case_id, msg_id, DEVICES["dana"].id, DANA.id,
                                      envelope if envelope is not None else f"env-{case_id}-{msg_id}".encode())


# -- schema ----------------------------------------------------------------------------------------


def migration_versions(engine: str) -> list[int]:
    folder = Path(chat.__file__).parent / "storage" / ("sqlite" if engine == "sqlite" else "postgres") / "migrations"
    return sorted(int(p.name.split("_", 1)[0]) for p in folder.glob("*.sql"))


COLUMNS = {"sqlite": "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p"
                     " WHERE m.type = 'table'",
           "postgres": "SELECT table_name, column_name FROM information_schema.columns"
                       " WHERE table_schema = current_schema()"}



@pytest.mark.parametrize("engine_name", ENGINES)
def test_each_migration_number_is_used_once(engine_name: str) -> None:
    # Two pieces of work landing at once took the same number (0024 twice): every server then refused to start.
    versions = migration_versions(engine_name)
    assert len(versions) == len(set(versions)), sorted(v for v in versions if versions.count(v) > 1)

async def test_migrations_create_the_schema_and_record_each_version(store: SqliteStore, engine: str) -> None:
    versions = await store.engine.transaction(lambda db: [v for (v,) in db.execute(
        "SELECT version FROM schema_migrations ORDER BY version")])
    tables = await store.engine.transaction(lambda db: {name for (name,) in db.execute(TABLES[engine])})
    assert versions == migration_versions(engine) and versions[0] == 1
    assert {"units", "users", "devices", "cases", "messages", "receipts", "sessions", "security_events",
            "unit_key_epochs", "unit_key_grants", "case_key_epochs", "case_key_wraps"} <= tables


async def test_reopening_the_database_does_not_reapply_migrations(store: SqliteStore, database: Path | str,
                                                                  engine: str) -> None:
    def applied(db: object) -> list[tuple[int, int]]:
        return [tuple(r) for r in db.execute("SELECT version, applied_at FROM schema_migrations")]  # type: ignore[attr-defined]

    before = await store.engine.transaction(applied)
    await store.close()
    reopened = await open_store(database)
    try:
        assert await reopened.get_unit(UNIT.id) == UNIT
        assert await reopened.engine.transaction(applied) == before
    finally:
        await reopened.close()
    assert len(before) == len(migration_versions(engine))


async def test_both_engines_have_the_same_tables_and_columns(store: SqliteStore, engine: str) -> None:
    """The PostgreSQL schema is written by hand beside SQLite's migrations: a column added to one engine only
    fails here (the other engine's columns are in tests/schema.txt, written by the SQLite run)."""
    columns = await store.engine.transaction(lambda db: sorted(
        f"{table}.{column}" for table, column in db.execute(COLUMNS[engine]) if not table.startswith("sqlite_")))
    expected = (Path(__file__).parent / "schema.txt").read_text().split()
    assert columns == expected


async def test_database_uses_write_ahead_logging(store: SqliteStore, db_path: Path) -> None:
    with raw_db(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_foreign_keys_are_enforced(store: SqliteStore) -> None:
    with pytest.raises(store.engine.IntegrityError):
        await store.add_case(make_case("orphan", DANA, Unit("no-such-unit", MUNICIPALITY.id, "Okänd")))
    assert await store.get_case("orphan") is None


# -- appends and seqs ------------------------------------------------------------------------------


async def test_append_assigns_seqs_from_one_per_case_independently(store: SqliteStore) -> None:
    acks = [await append(store, case, f"m{i}") for i, case in enumerate([C1, C1, C2, C1, C2, C3])]
    assert [(a.case_id, a.seq) for a in acks] == [(C1, 1), (C1, 2), (C2, 1), (C1, 3), (C2, 2), (C3, 1)]
    assert not any(a.duplicate for a in acks)
    assert [await store.last_seq(c) for c in (C1, C2, C3)] == [3, 2, 1]


async def test_concurrent_appends_get_gap_free_unique_seqs_in_each_case(store: SqliteStore) -> None:
    sent = [(CASES[i % 3].id, f"msg-{i:03d}") for i in range(500)]
    acks = await asyncio.gather(*(append(store, case_id, msg_id) for case_id, msg_id in sent))
    for case_id in (C1, C2, C3):
        mine = [a for a in acks if a.case_id == case_id]
        assert sorted(a.seq for a in mine) == list(range(1, len(mine) + 1))
        stored = await store.messages_after(case_id, 0, 1000)
        assert [m.seq for m in stored] == list(range(1, len(mine) + 1))
        # Each ack names the seq its own message was stored under.
        assert {(m.msg_id, m.seq) for m in stored} == {(a.msg_id, a.seq) for a in mine}
        assert all(m.envelope == f"env-{case_id}-{m.msg_id}".encode() for m in stored)


async def test_more_appends_than_one_batch_are_split_and_all_committed(
        store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    commit = store.engine._commit_batch

    async def spy(batch: list, audits: list) -> None:  # type: ignore[type-arg]
        sizes.append(len(batch))
        await commit(batch, audits)

    monkeypatch.setattr(store.engine, "_commit_batch", spy)
    n = MAX_BATCH * 2 + 7
    acks = await asyncio.gather(*(append(store, C1, f"m{i}") for i in range(n)))
    assert sorted(a.seq for a in acks) == list(range(1, n + 1))
    assert max(sizes) == MAX_BATCH and sum(sizes) == n
    assert await count(store, "SELECT count(*) FROM messages WHERE case_id = ?", C1) == n


async def test_messages_after_pages_in_seq_order(store: SqliteStore) -> None:
    for i in range(5):
        await append(store, C1, f"m{i}")
    assert [m.seq for m in await store.messages_after(C1, 1, 2)] == [2, 3]
    assert [m.seq for m in await store.messages_after(C1, 3, 100)] == [4, 5]
    assert await store.messages_after(C1, 5, 100) == []
    assert await store.messages_after(C2, 0, 100) == []


# -- idempotency -----------------------------------------------------------------------------------


async def test_replayed_msg_id_with_same_bytes_returns_original_ack(store: SqliteStore) -> None:
    first = await append(store, C1, "m1", b"same bytes")
    await append(store, C1, "m2")
    again = await append(store, C1, "m1", b"same bytes")
    assert again == Ack(C1, "m1", first.seq, first.stored_at, duplicate=True)
    assert await count(store, "SELECT count(*) FROM messages WHERE case_id = ?", C1) == 2
    assert await store.last_seq(C1) == 2


async def test_replay_inside_one_batch_is_stored_once(store: SqliteStore) -> None:
    first, again = await asyncio.gather(append(store, C1, "m1", b"x"), append(store, C1, "m1", b"x"))
    assert (first.duplicate, again.duplicate) == (False, True)
    assert (again.seq, again.stored_at) == (first.seq, first.stored_at)
    assert await count(store, "SELECT count(*) FROM messages") == 1


async def test_reused_msg_id_with_other_bytes_is_a_conflict(store: SqliteStore) -> None:
    await append(store, C1, "m1", b"original")
    with pytest.raises(Conflict) as refused:
        await append(store, C1, "m1", b"forged")
    assert refused.value.code == "msg_id_conflict"
    [stored] = await store.messages_after(C1, 0, 10)
    assert stored.envelope == b"original"


async def test_a_conflict_inside_a_batch_does_not_fail_the_other_appends(store: SqliteStore) -> None:
    await append(store, C1, "m1", b"original")
    results = await asyncio.gather(append(store, C1, "m2"), append(store, C1, "m1", b"forged"),
                                   append(store, C1, "m3"), return_exceptions=True)
    assert [r.seq for r in (results[0], results[2])] == [2, 3]  # type: ignore[union-attr]
    assert isinstance(results[1], Conflict) and results[1].code == "msg_id_conflict"


async def test_same_msg_id_in_two_cases_is_two_messages(store: SqliteStore) -> None:
    in_c1 = await append(store, C1, "shared-id", b"one")
    in_c2 = await append(store, C2, "shared-id", b"two")
    assert not in_c1.duplicate and not in_c2.duplicate
    assert [m.envelope for m in await store.messages_after(C1, 0, 10)] == [b"one"]
    assert [m.envelope for m in await store.messages_after(C2, 0, 10)] == [b"two"]
    assert await count(store, "SELECT count(*) FROM messages WHERE msg_id = 'shared-id'") == 2


# -- content and durability ------------------------------------------------------------------------


async def test_envelope_bytes_round_trip_byte_identical(store: SqliteStore) -> None:
    # Opaque to the server: any bytes, including NUL and invalid UTF-8, come back exactly as sent.
    envelope = os.urandom(2048) + b"\x00\xff MARKER-7f3a \x00" + os.urandom(17)
    ack = await store.append_message(C1, "m1", DEVICES["anna"].id, ANNA.id, envelope)
    [stored] = await store.messages_after(C1, 0, 10)
    assert stored.envelope == envelope and type(stored.envelope) is bytes
    assert (stored.seq, stored.msg_id, stored.sender_device, stored.sender_user, stored.stored_at) == (
        ack.seq, "m1", DEVICES["anna"].id, ANNA.id, ack.stored_at)


async def test_appends_survive_a_restart_and_seqs_continue_from_the_stored_max(
        store: SqliteStore, database: Path | str) -> None:
    before = [await append(store, C1, f"m{i}") for i in range(3)]
    await store.close()
    reopened = await open_store(database)
    try:
        stored = await reopened.messages_after(C1, 0, 10)
        assert [(m.msg_id, m.seq, m.stored_at) for m in stored] == [(a.msg_id, a.seq, a.stored_at) for a in before]
        assert (await append(reopened, C1, "m3")).seq == 4
        assert (await append(reopened, C1, "m0")).duplicate  # idempotency holds across the restart too
    finally:
        await reopened.close()


# -- receipts --------------------------------------------------------------------------------------


async def test_receipt_marks_are_never_lowered(store: SqliteStore) -> None:
    assert await store.mark_receipt(C1, ERIK.id, delivered_seq=5, read_seq=2) == ReceiptMarks(C1, ERIK.id, 5, 2)
    assert await store.mark_receipt(C1, ERIK.id, delivered_seq=3, read_seq=1) == ReceiptMarks(C1, ERIK.id, 5, 2)
    assert await store.mark_receipt(C1, ERIK.id, delivered_seq=0, read_seq=4) == ReceiptMarks(C1, ERIK.id, 5, 4)


async def test_reading_a_message_marks_it_delivered(store: SqliteStore) -> None:
    assert await store.mark_receipt(C1, DANA.id, delivered_seq=0, read_seq=7) == ReceiptMarks(C1, DANA.id, 7, 7)
    await store.mark_receipt(C1, ANNA.id, delivered_seq=2, read_seq=0)
    assert await store.receipts_of_case(C1) == [ReceiptMarks(C1, ANNA.id, 2, 0), ReceiptMarks(C1, DANA.id, 7, 7)]
    assert await store.receipts_of_case(C2) == []


# -- unit keys -------------------------------------------------------------------------------------


def unit_epoch(epoch: int, unit_id: str = UNIT.id) -> UnitKeyEpoch:
    return UnitKeyEpoch(unit_id, epoch, os.urandom(32), DEVICES["cecilia"].id, os.urandom(64), 1000 + epoch)


def grant(epoch: int, device_id: str, ct: bytes = b"ct") -> UnitKeyGrant:
    return UnitKeyGrant(UNIT.id, epoch, device_id, b"enc", ct, DEVICES["cecilia"].id, b"sig", 1000 + epoch)


async def test_unit_key_epochs_must_be_consecutive(store: SqliteStore) -> None:
    first = unit_epoch(1)
    await store.add_unit_key_epoch(first, [grant(1, DEVICES["anna"].id)])
    for wrong in (1, 3, 0):
        with pytest.raises(Conflict) as refused:
            await store.add_unit_key_epoch(unit_epoch(wrong), [])
        assert refused.value.code == "epoch_exists"
    second = unit_epoch(2)
    await store.add_unit_key_epoch(second, [])
    assert await store.unit_key_epochs(UNIT.id) == [first, second]
    assert await store.unit_key_epochs(OTHER_UNIT.id) == []
    # Epochs are counted per unit: the other unit starts at 1.
    await store.add_unit_key_epoch(unit_epoch(1, OTHER_UNIT.id), [])


async def test_a_refused_unit_key_epoch_stores_none_of_its_grants(store: SqliteStore) -> None:
    await store.add_unit_key_epoch(unit_epoch(1), [])
    with pytest.raises(Conflict):
        await store.add_unit_key_epoch(unit_epoch(1), [grant(1, DEVICES["anna"].id)])
    assert await store.unit_key_grants(UNIT.id, 1) == []


async def test_an_existing_unit_key_grant_is_left_as_it_was(store: SqliteStore) -> None:
    original = grant(1, DEVICES["anna"].id, b"original")
    await store.add_unit_key_epoch(unit_epoch(1), [original])
    await store.add_unit_key_grants([grant(1, DEVICES["anna"].id, b"replacement"), grant(1, DEVICES["olle"].id)])
    assert await store.unit_key_grants_for_device(UNIT.id, DEVICES["anna"].id) == [original]
    assert {g.device_id for g in await store.unit_key_grants(UNIT.id, 1)} == {DEVICES["anna"].id,
                                                                              DEVICES["olle"].id}


# -- case keys -------------------------------------------------------------------------------------


def wrap(recipient: str, epoch: int = 1, ct: bytes = b"ct", case_id: str = C1) -> CaseKeyWrap:
    return CaseKeyWrap(case_id, epoch, recipient, b"enc", ct, DEVICES["cecilia"].id, b"sig", 2000 + epoch)


async def add_case_epoch(store: SqliteStore, epoch: int, *wraps: CaseKeyWrap) -> None:
    await store.add_case_key_epoch(C1, epoch, DEVICES["cecilia"].id, wraps, 2000 + epoch)


async def test_case_key_overview_names_each_cases_current_epoch_its_holders_and_the_citizens_devices(
        store: SqliteStore) -> None:
    second_phone = make_device("dev-dana-2", DANA)
    await store.add_device(second_phone)
    await store.revoke_device(second_phone.id, 5000)
    await add_case_epoch(store, 1, wrap("unit:1"), wrap(DEVICES["dana"].id), wrap(second_phone.id))
    await add_case_epoch(store, 2, wrap("unit:1", 2), wrap(DEVICES["dana"].id, 2))
    overview = {state.case.id: state for state in await store.case_key_overview(UNIT.id)}
    assert set(overview) == {C1, C2}  # the unit's cases only
    assert (overview[C1].epoch, overview[C1].holders) == (2, {"unit:1", DEVICES["dana"].id})  # epoch 2's holders
    assert {d.id: d.active for d in overview[C1].citizen_devices} == {DEVICES["dana"].id: True, second_phone.id: False}
    assert (overview[C2].epoch, overview[C2].holders) == (0, frozenset())
    assert [d.id for d in overview[C2].citizen_devices] == [DEVICES["erik"].id]
    assert overview[C1].case == await store.get_case(C1)


async def test_case_key_epochs_must_be_consecutive_and_the_current_epoch_follows(
        store: SqliteStore, database: Path | str) -> None:
    assert await store.current_case_epoch(C1) == 0  # also fills the store's cache before the writes
    await add_case_epoch(store, 1)
    assert await store.current_case_epoch(C1) == 1
    for wrong in (1, 3):
        with pytest.raises(Conflict) as refused:
            await add_case_epoch(store, wrong)
        assert refused.value.code == "epoch_exists"
        assert await store.current_case_epoch(C1) == 1
    await add_case_epoch(store, 2)
    assert await store.current_case_epoch(C1) == 2
    assert await store.current_case_epoch(C2) == 0
    await store.close()
    reopened = await open_store(database)
    try:
        assert await reopened.current_case_epoch(C1) == 2
    finally:
        await reopened.close()


async def test_case_key_wraps_are_filtered_by_recipient(store: SqliteStore) -> None:
    await add_case_epoch(store, 1, wrap("dev-dana"), wrap("dev-erik"), wrap("unit:1"))
    await add_case_epoch(store, 2, wrap("dev-dana", 2), wrap("unit:1", 2))
    assert [(w.epoch, w.recipient) for w in await store.case_key_wraps(C1, ["dev-dana", "unit:1"])] == [
        (1, "dev-dana"), (1, "unit:1"), (2, "dev-dana"), (2, "unit:1")]
    assert [(w.epoch, w.recipient) for w in await store.case_key_wraps(C1, ["dev-erik"])] == [(1, "dev-erik")]
    assert await store.case_key_wraps(C1, []) == []
    assert len(await store.case_key_wraps(C1)) == 5
    assert await store.case_key_wraps(C2) == []


async def test_an_existing_case_key_wrap_is_left_as_it_was(store: SqliteStore) -> None:
    original = wrap("dev-dana", ct=b"original")
    await add_case_epoch(store, 1, original)
    await store.add_case_key_wraps([wrap("dev-dana", ct=b"replacement"), wrap("dev-erik")])
    assert await store.case_key_wraps(C1, ["dev-dana"]) == [original]
    assert len(await store.case_key_wraps(C1)) == 2


# -- devices, users, sessions, security events ------------------------------------------------------


async def test_revoking_a_device_is_seen_by_a_later_get_device(store: SqliteStore) -> None:
    device_id = DEVICES["dana"].id
    assert (await store.get_device(device_id)).active  # type: ignore[union-attr]  # now cached
    await store.revoke_device(device_id, at=5000)
    revoked = await store.get_device(device_id)
    assert revoked is not None and revoked.revoked_at == 5000 and not revoked.active
    await store.revoke_device(device_id, at=9000)  # a second revocation keeps the first time
    assert (await store.get_device(device_id)).revoked_at == 5000  # type: ignore[union-attr]
    assert [d.revoked_at for d in await store.devices_of_user(DANA.id)] == [5000]


async def write_while_a_read_is_in_flight(store: SqliteStore, read: Awaitable[object],
                                          write: Callable[[], Awaitable[None]]) -> None:
    """Run `write` after `read` has fetched its row from the database but before it fills the cache."""
    fetched, resume = asyncio.Event(), asyncio.Event()
    one = store._one

    async def paused(sql: str, params: Sequence[object] = ()) -> object:
        row = await one(sql, params)
        fetched.set()
        await resume.wait()
        return row

    store._one = paused  # type: ignore[method-assign]
    task = asyncio.ensure_future(read)
    await fetched.wait()
    store._one = one  # type: ignore[method-assign]
    await write()
    resume.set()
    await task


async def test_a_revocation_during_a_device_read_is_not_undone_by_the_cache(store: SqliteStore) -> None:
    device_id = DEVICES["dana"].id
    await write_while_a_read_is_in_flight(store, store.get_device(device_id),
                                          lambda: store.revoke_device(device_id, at=5000))
    assert (await store.get_device(device_id)).revoked_at == 5000  # type: ignore[union-attr]


async def test_a_new_case_epoch_during_an_epoch_read_is_not_undone_by_the_cache(store: SqliteStore) -> None:
    await write_while_a_read_is_in_flight(store, store.current_case_epoch(C1), lambda: add_case_epoch(store, 1))
    assert await store.current_case_epoch(C1) == 1


async def test_staff_of_unit_lists_only_the_units_staff_roles(store: SqliteStore) -> None:
    staff = await store.staff_of_unit(UNIT.id)
    assert [u.id for u in staff] == ["anna", "bo", "cecilia", "unn"]  # not the log reviewer, not citizens
    assert [u.id for u in await store.staff_of_unit(OTHER_UNIT.id)] == ["olle"]
    assert await store.get_user_by_username("cecilia") == CECILIA
    assert await store.get_user("nobody") is None


async def test_session_is_added_touched_and_deleted(store: SqliteStore) -> None:
    id_hash = os.urandom(32)
    await store.add_session(id_hash, DANA.id, at=100, expires_at=900)
    assert await store.get_session(id_hash) == (DANA.id, 100, 900)
    await store.touch_session(id_hash, at=250)
    assert await store.get_session(id_hash) == (DANA.id, 250, 900)
    assert await store.get_session(os.urandom(32)) is None
    await store.delete_session(id_hash)
    assert await store.get_session(id_hash) is None
    assert await count(store, "SELECT count(*) FROM sessions") == 0


async def test_security_events_are_listed_newest_first(store: SqliteStore) -> None:
    for i, kind in enumerate(["bad_signature", "forbidden", "stale_epoch"]):
        await store.add_security_event(kind, user_id=DANA.id, device_id=None, case_id=C1, detail=f"#{i}", at=i)
    events = await store.security_events(limit=2)
    assert [(e["kind"], e["detail"], e["case_id"]) for e in events] == [("stale_epoch", "#2", C1),
                                                                        ("forbidden", "#1", C1)]


@pytest.mark.parametrize("tamper", ["UPDATE security_events SET detail = 'nothing happened'",
                                    "DELETE FROM security_events"])
async def test_security_events_cannot_be_changed_or_deleted(store: SqliteStore, tamper: str) -> None:
    await store.add_security_event("forbidden", user_id=ERIK.id, device_id=None, case_id=C1, detail="probe", at=1)
    with pytest.raises(store.engine.IntegrityError, match="append-only"):
        await store.engine.transaction(lambda db: db.execute(tamper))
    assert [(e["kind"], e["detail"]) for e in await store.security_events()] == [("forbidden", "probe")]


async def test_two_processes_appending_to_the_audit_log_keep_one_chain(database: Path | str) -> None:
    # An admin command (another process) may append while the server runs; each writer reads the head
    # inside its own transaction, so the rows interleave into one unbroken chain.
    from chat.audit.chain import AuditEvent, verify
    from chat.storage.engines import audit_rows as read_audit_rows

    server, admin = await open_store(database), await open_store(database)
    try:
        for i in range(6):
            writer = server if i % 2 == 0 else admin
            await writer.append_audit(AuditEvent(f"test.{i}", "allowed"))
    finally:
        await server.close()
        await admin.close()
    rows = list(read_audit_rows(database))
    assert [r.event.action for r in rows][-6:] == [f"test.{i}" for i in range(6)]
    assert verify(rows).intact


async def test_case_activities_for_a_list_agree_with_case_activity_for_each_case(store: SqliteStore) -> None:
    """The inbox list reads many cases' activity in one statement (per chunk); it must say what the per-case
    query says: waiting, unread for the asking user, handled, and cases without messages."""
    async def send(case_id: str, msg_id: str, user: object) -> None:
        await store.append_message(case_id, msg_id, DEVICES[user.id].id, user.id, b"env")  # type: ignore[attr-defined]
    for msg_id, sender in (("a", DANA), ("b", DANA), ("c", ANNA), ("d", DANA)):
        await send(C1, msg_id, sender)
    await send(C2, "e", ANNA)
    await store.mark_receipt(C1, ANNA.id, delivered_seq=4, read_seq=2)
    await store.set_handled(C2, ANNA.id, 5)
    await store.set_handled(C3, CECILIA.id, 7)
    for chunk in (400, 1):  # one statement for all, and one per case
        store.ACTIVITY_CHUNK = chunk  # type: ignore[misc]
        for user in (ANNA, DANA, CECILIA):
            batch = await store.case_activities([C1, C2, C3], user.id)
            for case_id in (C1, C2, C3):
                assert batch[case_id] == (await store.last_seq(case_id), await store.case_activity(case_id, user.id))
    batch = await store.case_activities([C1, C2, C3], ANNA.id)
    assert batch[C1][0] == 4 and batch[C1][1].unread == 1 and batch[C1][1].waiting_since is not None
    assert batch[C2][1].handled and batch[C3] == (0, batch[C3][1]) and batch[C3][1].handled_at == 7
    assert await store.case_activities([], ANNA.id) == {}


# -- several server processes on one PostgreSQL database ------------------------------------------------
# Each store below has its own connection pools and batching writer, as a second server process would.


@pytest.fixture
async def two_servers(engine: str, database: Path | str, store: SqliteStore) -> AsyncIterator[tuple[SqliteStore, ...]]:
    if engine != "postgres":
        pytest.skip("one server process per SQLite data folder")
    other = await open_store(database)
    yield store, other
    await other.close()


async def test_two_servers_appending_at_once_get_gap_free_seqs_one_copy_each_and_one_audit_chain(
        two_servers: tuple[SqliteStore, SqliteStore]) -> None:
    from chat.audit.chain import AuditEvent, verify

    a, b = two_servers
    sends = []
    for i in range(300):
        writer = a if i % 2 else b
        event = AuditEvent("message.send", "allowed", DANA.id, case_id=C1)
        sends.append(writer.append_message(C1, f"m{i}", DEVICES["dana"].id, DANA.id, b"e%d" % i, event))
        # the same message sent again through the other server (a client that reconnected elsewhere)
        if i % 10 == 0:
            sends.append((b if i % 2 else a).append_message(C1, f"m{i}", DEVICES["dana"].id, DANA.id, b"e%d" % i))
    acks = await asyncio.gather(*sends)
    first = {ack.msg_id: ack.seq for ack in acks if not ack.duplicate}
    assert sorted(first.values()) == list(range(1, 301))  # no gap, no duplicate
    assert all(first[ack.msg_id] == ack.seq for ack in acks)  # a retry answers the stored seq
    assert await count(a, "SELECT count(*) FROM messages WHERE case_id = ?", C1) == 300
    rows = await a.audit_rows(limit=10_000)
    assert len(rows) == 300 and verify(rows).intact


async def test_a_sign_in_attempt_is_taken_once_across_servers(two_servers: tuple[SqliteStore, SqliteStore]) -> None:
    from chat.storage import LoginAttempt

    a, b = two_servers
    await a.add_login_attempt(LoginAttempt(b"s" * 32, "citizen", "n", "v", b"b" * 32, "/", 1), forget_before=0)
    taken = await asyncio.gather(*(s.take_login_attempt(b"s" * 32, 2 + i) for i, s in enumerate((a, b, a, b))))
    assert sorted(t.used_at is None for t in taken if t) == [False, False, False, True]  # one first use only


async def test_a_revocation_on_one_server_is_seen_by_the_other(two_servers: tuple[SqliteStore, SqliteStore]) -> None:
    a, b = two_servers
    assert (await b.get_device(DEVICES["dana"].id)).revoked_at is None  # read once: nothing may be kept
    await a.revoke_device(DEVICES["dana"].id, 5)
    assert (await b.get_device(DEVICES["dana"].id)).revoked_at == 5
    await a.add_case_key_epoch(C1, 1, DEVICES["anna"].id, [], 6)
    assert await b.current_case_epoch(C1) == 1
