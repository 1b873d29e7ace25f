"""Retention and deletion (gallring, chat/retention/, docs/retention.md) on both engines, with the clock set
forward: the job deletes exactly what is due under the rules and exceptions (legal hold, research sample,
kinds kept for ever), writes the deletion register, and touches nothing else."""
from __future__ import annotations

import json
from collections import Counter

from chat.model import now_ms
from chat.retention import sample
from chat.retention.job import RetentionJob
from chat.retention.rules import years_after
from chat.storage.applications import NewRecord
from chat.storage.retention import Hold, Rule

from .conftest_unit import ANNA, CECILIA, DANA, FRIDA, OTHER_UNIT, UNIT, make_case
from .engines import TABLES
from .test_storage import C1, C2, C3, DEVICES, append, database, engine, store  # noqa: F401 (fixtures)

DAY = 86_400_000


async def rows_per_table(store, engine: str) -> Counter[str]:  # type: ignore[no-untyped-def]
    def read(db):  # type: ignore[no-untyped-def]
        tables = [t for (t,) in db.execute(TABLES[engine]).fetchall() if not t.startswith("sqlite_")]
        return Counter({t: int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables})
    return await store.engine.transaction(read)


async def fill(store) -> int:  # type: ignore[no-untyped-def]
    """Dana's file in the unit (c1): messages, an attachment, a signed journal entry with her supplement, a
    booking. Erik's (c2) has a message four years later. Frida (c3, the other unit) is in the research sample.
    Dana's case in the other unit (c4) is under legal hold."""
    t = now_ms()
    await store.add_case(make_case("c4", DANA, OTHER_UNIT, None))
    for i, case_id in enumerate((C1, C1, C2, C3, "c4")):
        await append(store, case_id, f"m-{i}")
    await store.add_blob("b-1", C1, DANA.id, b"sealed attachment", t)
    draft = NewRecord("j-1", "journal", ANNA.id, DEVICES["anna"].id, b"draft", [("unit:1", b"g", b"s")], [])
    await store.journal.create(C1, UNIT.id, draft, None, False, None, "case:1", t)
    signed = NewRecord("j-2", "journal", ANNA.id, DEVICES["anna"].id, b"final", [("unit:1", b"g", b"s")], [])
    await store.journal.replace_draft("j-1", signed, True, None, "case:1", t)
    supplement = NewRecord("j-3", "journal", DANA.id, DEVICES["dana"].id, b"sealed", [("case:1", b"g", b"s")], [])
    await store.journal.add_remark(C1, None, "supplement", None, supplement, t)
    slot = await store.bookings.add_slot(UNIT.id, ANNA.id, t + DAY, t + DAY + 3_600_000, ("video",), None, ANNA.id)
    await store.bookings.book(slot.id, await store.get_case(C1), "video", await store.get_user(DANA.id), t,
                              lambda s: None)
    application = NewRecord("a-1", "application", DANA.id, DEVICES["dana"].id, b"sealed", [("unit:1", b"g", b"s")], [])
    app, case, _ = await store.applications.submit(application, UNIT.id, DANA.id, "form", 1, False, "Ansökan", t)
    assert case.id == C1
    decision = NewRecord("a-2", "application.decision", ANNA.id, DEVICES["anna"].id, b"sealed",
                         [("case:1", b"g", b"s")], [])
    await store.applications.decide(app.id, decision, t, ["received"])
    later = years_after(t, 4)
    await store.engine.transaction(lambda db: db.execute("UPDATE messages SET stored_at = ? WHERE case_id = ?",
                                                         (later, C2)))
    await store.retention.set_research_sample(FRIDA.id, sample.in_sample("198507159999"[:8] + "0000"), t)
    await store.retention.set_research_sample(DANA.id, sample.in_sample("198507160000"), t)
    assert await store.retention.set_hold(Hold("c4", "begäran från förvaltningsrätten", t, CECILIA.id))
    return t


async def test_the_job_deletes_exactly_what_is_due_and_registers_it(store, engine: str) -> None:  # type: ignore[no-untyped-def]
    t = await fill(store)
    job = RetentionJob(store.retention, store.schedule)
    before = await rows_per_table(store, engine)

    # Four years on nothing is due: the clock has not reached five years after any last entry.
    assert await job.dry_run(years_after(t, 4)) == {}
    assert await job.run_once(years_after(t, 4)) == {}
    assert await rows_per_table(store, engine) == before

    # Six years on, Dana's file in the unit is due (the default rule); the dry run counts it and deletes nothing.
    six = years_after(t, 6)
    assert await job.dry_run(six) == {"default:application:5y": 1, "default:attachment:5y": 1,
                                      "default:booking:5y": 1, "default:journal:5y": 2, "default:message:5y": 2}
    assert await rows_per_table(store, engine) == before
    deleted = await job.run_once(six)
    assert deleted == {"message": 2, "attachment": 1, "journal": 2, "application": 1, "booking": 1, "case": 1}

    after = await rows_per_table(store, engine)
    changed = {t: (before[t], after[t]) for t in before | after if before[t] != after[t]}
    # Only Dana's unit file went (its case, keys and marks too), the register and the job's claim came.
    assert set(changed) == {"messages", "blobs", "journal_entries", "journal_versions", "journal_grants",
                            "journal_remarks", "bookings", "cases", "retention_register", "scheduled_claims",
                            "applications", "application_records", "application_events", "application_grants",
                            "application_decisions", "audit_log"}
    assert changed["audit_log"] == (before["audit_log"], before["audit_log"] + 1)  # one row for the one case
    audit = await store.engine.transaction(lambda db: db.execute(
        "SELECT action, actor, role, unit_id, case_id, detail FROM audit_log ORDER BY id DESC LIMIT 1").fetchone())
    assert tuple(audit[:5]) == ("retention.deleted", None, "automated", UNIT.id, C1)
    assert json.loads(audit[5]) == {"case_deleted": True, "rules": {
        "message": "default:message:5y", "attachment": "default:attachment:5y", "journal": "default:journal:5y",
        "application": "default:application:5y", "booking": "default:booking:5y"}}
    assert changed["messages"] == (before["messages"], before["messages"] - 2)
    assert changed["cases"] == (before["cases"], before["cases"] - 1)
    assert await store.get_case(C1) is None
    # Survivors: Erik's file (a later entry), Frida's (research sample), Dana's held case in the other unit.
    for case_id in (C2, C3, "c4"):
        assert await store.get_case(case_id) is not None
        assert await store.last_seq(case_id) >= 1
    assert len(await store.bookings.bookings_of_case(C1)) == 0
    assert await store.get_blob(C1, "b-1") is None

    register = await store.retention.register()
    assert sorted((d.unit_id, d.record_kind, d.rule, d.count, d.automated) for d in register) == [
        (UNIT.id, "application", "default:application:5y", 1, True), (UNIT.id, "attachment", "default:attachment:5y", 1, True), (UNIT.id, "booking", "default:booking:5y", 1, True),
        (UNIT.id, "case", "empty", 1, True), (UNIT.id, "journal", "default:journal:5y", 2, True),
        (UNIT.id, "message", "default:message:5y", 2, True)]
    assert {d.at for d in register} == {six}

    # Run again: nothing more is due, nothing is registered twice.
    assert await job.run_once(six + DAY) == {}
    assert len(await store.retention.register()) == len(register)


async def test_a_rule_keeps_a_kind_for_ever_and_a_lifted_hold_lets_the_file_go(store, engine: str) -> None:  # type: ignore[no-untyped-def]
    t = await fill(store)
    job = RetentionJob(store.retention, store.schedule)
    await store.retention.set_rule(Rule(UNIT.id, "journal", None, t, CECILIA.id))  # the unit keeps journals
    await store.retention.set_rule(Rule("*", "booking", 1, t, CECILIA.id))  # bookings go after a year
    assert await job.run_once(years_after(t, 2)) == {"booking": 1}
    deleted = await job.run_once(years_after(t, 6))
    assert deleted == {"message": 2, "attachment": 1, "application": 1}
    assert await store.get_case(C1) is not None  # its journal is kept, so is the case it belongs to
    assert (await store.journal.entry_detail("j-1"))[0]
    assert sorted(d.rule for d in await store.retention.register()) == [
        "all:booking:1y", "default:application:5y", "default:attachment:5y", "default:message:5y"]

    # The hold on Dana's case in the other unit is lifted: at the next run her file there goes too.
    assert await store.retention.lift_hold("c4") and not await store.retention.lift_hold("c4")
    assert await job.run_once(years_after(t, 6) + DAY) == {"message": 1, "case": 1}
    assert await store.get_case("c4") is None and await store.get_case(C3) is not None


async def test_a_file_with_an_entry_made_after_the_job_looked_is_kept(store, engine: str) -> None:  # type: ignore[no-untyped-def]
    t = await fill(store)
    job = RetentionJob(store.retention, store.schedule)
    plan = await job.plan(years_after(t, 6))
    dana = next(d for d in plan.due if d.unit_id == UNIT.id)
    await append(store, C1, "a-late-message")  # written while the job was between looking and deleting
    await store.engine.transaction(lambda db: db.execute("UPDATE messages SET stored_at = ? WHERE msg_id = ?",
                                                         (years_after(t, 5), "a-late-message")))
    assert await store.retention.delete(dana.citizen_id, dana.unit_id, dana.kinds, dana.last_entry,
                                        years_after(t, 6)) == {}
    assert await store.get_case(C1) is not None


def test_the_research_sample_is_the_5th_15th_and_25th_also_for_a_coordination_number() -> None:
    assert [sample.in_sample(f"198001{d:02d}0000") for d in (4, 5, 15, 25, 26)] == [False, True, True, True, False]
    assert sample.in_sample("19800165" + "0000") and not sample.in_sample("19800166" + "0000")


def test_a_leap_day_moves_to_the_28th() -> None:
    from datetime import UTC, datetime

    leap = int(datetime(2028, 2, 29, 12, tzinfo=UTC).timestamp() * 1000)
    assert datetime.fromtimestamp(years_after(leap, 5) / 1000, tz=UTC).date().isoformat() == "2033-02-28"


async def test_the_operators_dry_run_counts_per_rule_and_deletes_nothing(store, database, capsys,  # type: ignore[no-untyped-def]
                                                                        monkeypatch) -> None:
    from datetime import UTC, datetime

    from web.cli.main import main

    t = await fill(store)
    # The SQLite file by its data folder: no database address left in the environment by another module's
    # server (tests/conftest.py start_server sets it for the commands a test runs).
    monkeypatch.setenv("SAMTAL_DATABASE_URL", database if isinstance(database, str) else "")
    data_dir = str(database.parent) if not isinstance(database, str) else "unused"
    day = datetime.fromtimestamp(years_after(t, 6) / 1000, tz=UTC).date().isoformat()
    assert main(["retention", "dry-run", "--data-dir", data_dir, "--at", day]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"at": day, "files": 1, "kept": {"legal_hold_cases": 1, "research_sample_files": 1},
                      "would_delete": {"default:application:5y": 1, "default:attachment:5y": 1, "default:booking:5y": 1,
                                       "default:journal:5y": 2, "default:message:5y": 2}}
    assert await store.get_case(C1) is not None and await store.retention.register() == []
    assert main(["retention", "rule", "--data-dir", data_dir, "--unit", UNIT.id, "--kind", "journal", "--keep"]) == 0
    assert json.loads(capsys.readouterr().out)["rule"] == "unit:journal:keep"
    assert main(["retention", "dry-run", "--data-dir", data_dir, "--at", day]) == 0
    assert "default:journal:5y" not in json.loads(capsys.readouterr().out)["would_delete"]
    assert main(["retention", "dry-run", "--data-dir", data_dir, "--at", "someday"]) == 2
    assert main(["retention", "run", "--data-dir", data_dir]) == 0  # nothing is due today
    assert json.loads(capsys.readouterr().out) == {"deleted": {}}
    if not isinstance(database, str):  # a server holding the SQLite folder runs the job itself
        from chat.storage.engines import lock_data_folder

        server = lock_data_folder(database.parent)
        try:
            assert main(["retention", "run", "--data-dir", data_dir]) == 2
            assert json.loads(capsys.readouterr().err.splitlines()[-1])["error"] == "server_running"
        finally:
            server.release()


async def test_two_nodes_running_the_job_at_once_delete_and_register_each_file_once(store) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    t = await fill(store)
    six = years_after(t, 6)
    first, second = RetentionJob(store.retention, store.schedule), RetentionJob(store.retention, store.schedule)
    results = await asyncio.gather(first.run_once(six), second.run_once(six))
    assert sorted(results, key=len) == [{}, {"message": 2, "attachment": 1, "journal": 2, "application": 1,
                                             "booking": 1, "case": 1}]
    assert len(await store.retention.register()) == 6
