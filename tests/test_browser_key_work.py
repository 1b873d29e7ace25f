"""Without any key steward, a supervisor's open browser does the key work of a unit: it makes the unit's
first key and the case keys, and after a staff device is removed it rotates the unit key and the case keys,
so that the removed device can read nothing new. (The demo steward does the same; outside the demo there is
none, which is why this has to work.)"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_browser_app import client_sends, run_async
from tests.test_browser_pages import browser, new_person  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in, wait_for_epochs
from web.client.session import ClientSession

from .waiting import eventually_blocking

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")

server = server_fixture(SAMTAL_DEMO_STEWARD="0")


def bo_registers_then_is_removed(server: RunningServer, folder: Path, supervisor: Any) -> None:
    """Bo's command-line device is approved by the supervisor on /unit, then revoked."""
    async def register() -> str:
        async with ClientSession(server.url, folder, "bo") as bo:
            await bo.start()
            return bo.device_id
    device_id = run_async(register())
    supervisor.goto("/unit")
    waiting = supervisor.page.locator(".pending-device", has_text="Bo Ek")
    expect(waiting).to_have_count(1, timeout=15_000)
    waiting.get_by_role("button", name="Godkänn").click()
    expect(supervisor.page.locator("#pending-devices")).to_contain_text("Inga enheter väntar", timeout=15_000)

    async def revoke() -> None:
        async with ClientSession(server.url, folder, "bo") as bo:
            await bo.start()
            await bo.transport.call("DELETE", f"/api/devices/{device_id}")
    run_async(revoke())


def test_a_supervisors_browser_makes_and_rotates_the_keys(browser, server, tmp_path):  # noqa: F811
    cecilia = signed_in(browser, server, "Cecilia Berg", "/inbox")
    wait_for_epochs(server, tmp_path / "dana-watch", 1, 1)  # first unit key and case keys, from the browser
    client_sends(server, tmp_path / "dana", "dana", CASE_DANA, "Hej, nyckeln kom från en webbläsare")
    cecilia.open_conversation(f"/inbox/{CASE_DANA}")
    expect(cecilia.message("nyckeln kom från en webbläsare")).to_be_visible(timeout=15_000)

    bo_registers_then_is_removed(server, tmp_path / "bo", cecilia)
    view = wait_for_epochs(server, tmp_path / "dana-watch", 2, 2)
    makers = {e["created_by_device"] for e in view["unit_key_epochs"]}
    assert len(makers) == 1, "both unit key epochs were made by the supervisor's browser device"
    # Each new epoch seals the one before it (docs/protocol.md section 17), made by that browser too.
    wanted = {("unit", "ekonomiskt-bistand", 2, 1, *makers), ("case", CASE_DANA, 2, 1, *makers)}
    def linked() -> bool:  # the link follows its epoch within a moment
        with sqlite3.connect(f"file:{server.database_files[0]}?mode=ro", uri=True) as db:
            links = set(db.execute("SELECT kind, target_id, epoch, sealed_epoch, signer_device FROM key_history_links"))
        assert wanted <= links, links
        return True
    eventually_blocking(linked, within=10)

    client_sends(server, tmp_path / "dana", "dana", CASE_DANA, "Efter bytet av nycklar")  # her client takes the new case key
    cecilia.open_conversation(f"/inbox/{CASE_DANA}")
    expect(cecilia.message("Efter bytet av nycklar")).to_be_visible(timeout=15_000)
    expect(cecilia.message("nyckeln kom från en webbläsare")).to_be_visible()  # the old epoch stays readable

    async def new_phone_reads() -> list[str]:  # given the new case key only, it opens the old one by the link
        async with ClientSession(server.url, tmp_path / "dana-new", "dana") as phone:
            await phone.start()
            return [m.body["text"] for m in await phone.history(await phone.case(CASE_DANA))]
    assert run_async(new_phone_reads()) == ["Hej, nyckeln kom från en webbläsare", "Efter bytet av nycklar"]

    async def erik_case_epoch() -> int:
        async with ClientSession(server.url, tmp_path / "erik", "erik") as erik:
            await erik.demo_login()
            return (await erik.case(CASE_ERIK))["key_epoch"]
    assert run_async(erik_case_epoch()) == 2  # every case of the unit moved to a key Bo never had
    cecilia.page.context.close()
