"""PostgreSQL restarted under running nodes (issue #12, item 3): two nodes and a bus on a PostgreSQL server of the
test's own (tests/private_postgres.py), citizens and a caseworker sending a burst; mid-burst the database crashes
(`pg_ctl stop -m immediate`: every backend killed, no checkpoint) and comes back seconds later. While it is away a
node says it is not ready (/readyz 503) and answers sends with the retryable `storage_unavailable`; afterwards it
serves again by itself, without a restart. Counted as in tests/test_nodes.py: every acknowledged message stored
once and delivered to every follower in seq order, none lost, none twice; the audit chain verifies."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from tests import conftest, engines
from tests.nodes import FAST, burst_through, start_cluster, wait_for_async
from tests.private_postgres import PrivatePostgres

# It brings its own database server, so one run is enough: the PostgreSQL part of .ci/run.
pytestmark = pytest.mark.skipif(not engines.ON_POSTGRES, reason="runs in the PostgreSQL part (SAMTAL_TEST_DATABASE)")

DOWN_SECONDS = 3


@pytest.fixture(scope="module")
def database():
    server = PrivatePostgres()
    try:
        server.start()
        server.create_database()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, database):
    conftest.STARTUP_SECONDS, before = 180, conftest.STARTUP_SECONDS
    try:
        running = start_cluster(tmp_path_factory.mktemp("nodes"), 2, database=database.url, **FAST)
    finally:
        conftest.STARTUP_SECONDS = before
    yield running
    running.stop()


async def test_the_database_restarted_mid_burst_loses_nothing_and_service_resumes_by_itself(cluster, database,
                                                                                          tmp_path):
    seen: dict[str, object] = {}

    async def crash_and_restart_the_database() -> None:
        await asyncio.to_thread(database.stop, "immediate")
        async with httpx.AsyncClient() as http:
            seen["not_ready"] = await wait_for_async(lambda: http.get(f"{cluster.urls[0]}/readyz"), 503, 30)
            await asyncio.sleep(DOWN_SECONDS)  # sends keep coming while it is away
            await asyncio.to_thread(database.start)
            seen["ready_again"] = await wait_for_async(lambda: http.get(f"{cluster.urls[0]}/readyz"), 200, 60)

    followers = await burst_through(cluster, tmp_path, crash_and_restart_the_database,
                                    f"PostgreSQL crashed mid-burst and back after {DOWN_SECONDS} s")
    refusals: dict[str, int] = {}
    for follower in followers.values():
        for code, count in follower.refusals.items():
            refusals[code] = refusals.get(code, 0) + count
    print(f"  /readyz 503 while it was away: {seen['not_ready']}, 200 again after: {seen['ready_again']};"
          f" sends refused for now, by code: {refusals}")
    assert seen == {"not_ready": True, "ready_again": True}
    # The clients were told to try again (not a bug's 500, not a closed socket only).
    assert refusals.get("storage_unavailable", 0) >= 1, refusals
    assert all(node.process.poll() is None for node in cluster.nodes)  # nobody restarted a node
