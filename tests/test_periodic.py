"""chat/periodic.py: background rounds go on after a failed round, and stop when told."""
from __future__ import annotations

import asyncio
import logging

from chat.periodic import Rounds


async def test_a_failed_round_is_logged_and_the_next_one_runs(caplog) -> None:  # type: ignore[no-untyped-def]
    done = []

    async def work() -> None:
        done.append(len(done))
        if len(done) == 1:
            raise RuntimeError("the database is away")

    rounds = Rounds("test-rounds", 0.01, work, logging.getLogger("samtal.test"), "round failed")
    rounds.start()
    for _ in range(500):  # bounded: a few rounds take a few tens of ms
        if len(done) >= 3:
            break
        await asyncio.sleep(0.01)
    await rounds.stop()
    after = len(done)
    await asyncio.sleep(0.05)
    assert after >= 3 and len(done) == after  # it went on after the failure, and stopped
    failures = [r for r in caplog.records if r.getMessage() == "round failed"]
    assert len(failures) == 1 and failures[0].error == "RuntimeError"  # type: ignore[attr-defined]
