"""The staff browser's key work for representatives (docs/representatives.md, Keys), without any key steward:
a supervisor's open browser wraps the case key to a representative's proven device while the mandate is in
force, and makes a new case key without it once the mandate is ended."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import server_fixture
from tests.helpers import CASE_ERIK
from tests.test_browser_app import run_async
from tests.test_browser_pages import browser  # noqa: F401 (fixture)
from tests.test_browser_staff_pages import signed_in
from web.client.session import ClientSession

from .waiting import eventually_blocking

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")

server = server_fixture(SAMTAL_DEMO_STEWARD="0")


def test_a_supervisors_browser_gives_a_representative_the_case_key_and_rotates_it_away(browser, server, tmp_path):  # type: ignore[no-untyped-def]
    """docs/representatives.md, Keys: the browser's key work wraps the case key to a representative's proven
    device while the mandate is in force, and makes a new case key without it once the mandate is ended."""
    cecilia = signed_in(browser, server, "Cecilia Berg", "/inbox")
    now = int(time.time() * 1000)

    async def register_and_read() -> tuple[dict[str, Any], str, int]:
        async with ClientSession(server.url, tmp_path / "anna", "anna") as anna:
            await anna.start()
            mandate = (await anna.transport.call("POST", f"/api/cases/{CASE_ERIK}/representatives", {
                "personal_number": "197505051008", "name": "Göran Godman", "kind": "god_man",
                "basis": "court_decision", "reference": "Ä 7-26", "scopes": ["read"], "starts_at": now - 1000,
                "ends_at": now + 3_600_000}))["representative"]
        async with ClientSession(server.url, tmp_path / "rep", mandate["holder"]) as rep:
            await rep.start()
            epoch, _key = await rep.case_key(await rep.case(CASE_ERIK))  # given by Cecilia's open browser
            return mandate, rep.device_id, epoch
    mandate, rep_device, epoch = run_async(register_and_read())

    async def end() -> int:
        async with ClientSession(server.url, tmp_path / "anna", "anna") as anna:
            await anna.start()
            await anna.transport.call("POST", f"/api/cases/{CASE_ERIK}/representatives/{mandate['id']}/end")
            return int((await anna.case(CASE_ERIK))["key_epoch"])
    assert run_async(end()) == epoch

    def rotated() -> set[str]:
        with server.db() as db:
            newest = db.execute("SELECT max(epoch) FROM case_key_epochs WHERE case_id = ?", (CASE_ERIK,)).fetchone()[0]
            assert newest > epoch, "the browser has not made a new case key yet"
            return {r for (r,) in db.execute("SELECT recipient FROM case_key_wraps WHERE case_id = ? AND epoch = ?",
                                              (CASE_ERIK, newest))}
    recipients = eventually_blocking(rotated, within=30)
    assert rep_device not in recipients and any(r.startswith("unit:") for r in recipients)
    cecilia.page.context.close()
