"""Outside the demo's key steward, a staff browser does the key work that needs no person's approval: a
citizen's new device gets its case keys from whichever staff device of the unit is online."""
from __future__ import annotations

import pytest

from tests.conftest import server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_pages import browser, new_person  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import SECRET, first_key_holder, signed_in
from tests.test_browser_app import run_async
from web.client.session import ClientSession

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")

server = server_fixture(SAMTAL_DEMO_STEWARD="0")


def test_a_staff_browser_gives_a_citizens_new_device_its_case_keys(browser, server, tmp_path):  # noqa: F811
    anna = signed_in(browser, server, "Anna Lind", "/inbox")  # her browser registers a device and waits
    first_key_holder(server, tmp_path)  # cecilia's CLI makes the keys once, approves anna's browser, writes

    async def new_citizen_device_reads() -> list[str]:
        # Nothing but anna's open inbox can give this device the case key: no steward runs here.
        async with ClientSession(server.url, tmp_path / "dana-new-phone", "dana") as dana:
            await dana.start()
            return [m.body.get("text") for m in await dana.history(await dana.case(CASE_DANA))]

    assert SECRET in run_async(new_citizen_device_reads())
    anna.page.context.close()
