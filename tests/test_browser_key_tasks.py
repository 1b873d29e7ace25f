"""Outside the demo's key steward, a staff browser does the key work that needs no person's approval: a
citizen's new device gets its case keys from whichever staff device of the unit is online, and after a unit
key rotation the exchange address keys are wrapped to the new epoch."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from chat.exchange.jose import KeyFile
from tests.conftest import server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import run_async
from tests.test_browser_pages import browser, new_person  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import SECRET, first_key_holder, signed_in
from web.cli.main import main as samtal
from web.client.exchange import share_address_key
from web.client.session import ClientSession
from web.client.steward import Steward

from .waiting import eventually

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture(SAMTAL_DEMO_STEWARD="0")


@pytest.fixture(scope="module")
def cecilia_dir(tmp_path_factory):  # her command-line device, the unit's first key holder, for the whole module
    return tmp_path_factory.mktemp("cecilia")


def test_a_staff_browser_gives_a_citizens_new_device_its_case_keys(  # noqa: F811
        browser, server, cecilia_dir, tmp_path):
    anna = signed_in(browser, server, "Anna Lind", "/inbox")  # her browser registers a device and waits
    first_key_holder(server, cecilia_dir, anna)  # cecilia's CLI makes the keys once, approves anna's browser

    async def new_citizen_device_reads() -> list[str]:
        # Nothing but anna's open inbox can give this device the case key: no steward runs here.
        async with ClientSession(server.url, tmp_path / "dana-new-phone", "dana") as dana:
            await dana.start()
            return [m.body.get("text") for m in await dana.history(await dana.case(CASE_DANA))]

    assert SECRET in run_async(new_citizen_device_reads())
    anna.page.context.close()


def test_after_a_unit_key_rotation_a_staff_browser_wraps_the_address_keys_to_the_new_epoch(
        browser, server, cecilia_dir, tmp_path):  # noqa: F811
    """Nobody but anna's open inbox re-wraps here: cecilia's command line shares the address keys with the
    unit key, then makes a new unit key epoch and does nothing more; anna's browser, told that key work is
    pending, wraps both address keys (decryption and signing) to the new epoch and signs the wraps."""
    with ThreadPoolExecutor(1) as pool:  # the command runs an event loop of its own: not on Playwright's thread
        assert pool.submit(samtal, ["exchange", "demo-keys", "--data-dir", str(server.data_dir), "--keys-dir",
                                    str(tmp_path / "exchange")]).result() == 0
    anna = signed_in(browser, server, "Anna Lind", "/inbox")
    first_key_holder(server, cecilia_dir, anna)  # approves this new browser too
    address = "ekonomiskt-bistand.demo-kommun"

    async def share_then_rotate() -> tuple[int, str]:
        async with ClientSession(server.url, cecilia_dir, "cecilia") as cecilia:
            await cecilia.start()
            await share_address_key(cecilia, "ekonomiskt-bistand", KeyFile(tmp_path / "exchange" / f"{address}.json"))
            tasks = await cecilia.transport.call("GET", "/api/keys/pending")
            await Steward(cecilia).rotate_unit_key(tasks)  # anna's browser holds the current epoch: it gets the new one
            return tasks["unit_epoch"] + 1, cecilia.device_id
    epoch, cecilia_device = run_async(share_then_rotate())
    browser_devices = {d["id"] for d in anna.page.evaluate("fetch('/api/me').then((r) => r.json())")["devices"]}

    async def wraps_of_new_epoch() -> list[dict]:
        async with ClientSession(server.url, cecilia_dir, "cecilia") as cecilia:
            await cecilia.start()
            async def both() -> list[dict]:
                wraps = (await cecilia.transport.call(
                    "GET", "/exchange/v1/units/ekonomiskt-bistand/address-keys"))["address_keys"]
                new = [w for w in wraps if w["unit_epoch"] == epoch]
                assert len(new) == 2, new
                return new
            return await eventually(both, what="both address keys wrapped to the new epoch")
    new = run_async(wraps_of_new_epoch())
    assert sorted(w["use"] for w in new) == ["enc", "sig"]
    assert {w["wrapped_by_device"] for w in new} <= browser_devices and cecilia_device not in browser_devices
    anna.page.context.close()


def test_a_staff_browser_back_online_does_the_key_work_it_missed(browser, server, cecilia_dir, tmp_path):  # noqa: F811
    """A `keys` frame sent while the page was offline is lost; coming back online, the page looks for the work
    itself: a citizen's device registered meanwhile gets its case key from it."""
    anna = signed_in(browser, server, "Anna Lind", "/inbox")
    first_key_holder(server, cecilia_dir, anna)  # approves this browser (the keys exist already)
    anna.page.context.set_offline(True)
    expect(anna.page.locator("#connection[data-kind=offline]")).to_have_count(1, timeout=20_000)

    async def register() -> None:  # the new phone registers while nobody is online to hear of it
        async with ClientSession(server.url, tmp_path / "dana-other-phone", "dana") as dana:
            await dana.start()
    run_async(register())
    anna.page.context.set_offline(False)

    async def current_key() -> tuple[int, int]:  # (the case's epoch, the epoch of the key this phone got)
        async with ClientSession(server.url, tmp_path / "dana-other-phone", "dana") as dana:
            await dana.start()
            case = await dana.case(CASE_DANA)
            epoch, _ = await dana.case_key(case)  # waits (bounded) for a staff device to give it
            return case["key_epoch"], epoch
    wanted, got = run_async(current_key())
    assert got == wanted >= 1
    anna.page.context.close()
