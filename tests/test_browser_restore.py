"""The browser app after the server's database is restored from a backup: its live connection sees the new
generation in hello, drops its cursors and replays the case from the start, and the conversation shows what
the restored database holds and every new message (which reuse seq numbers the page had seen). Before, the
page resumed after its old seq and never showed the new messages that took the reused numbers."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests import conftest
from tests.browser import chromium
from tests.conftest import ROOT, start_server, stop_server
from tests.helpers import CASE_DANA

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

from tests.test_browser_app import PHONE, WATCH_POLICY, Person, client_sends, sign_in, words  # noqa: E402


@pytest.fixture(autouse=True)
def patient_start(monkeypatch):
    monkeypatch.setattr(conftest, "STARTUP_SECONDS", 120)


def samtal(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "web.cli", *args], cwd=ROOT, check=True, capture_output=True, timeout=120)


def test_page_resynchronises_after_a_restore_and_shows_every_new_message(tmp_path):
    server = start_server(tmp_path)
    port = int(server.url.rsplit(":", 1)[1])
    anna = tmp_path / "anna"
    try:
        with chromium() as browser:
            context = browser.new_context(locale="sv-SE", **PHONE)
            context.add_init_script(WATCH_POLICY)
            page = context.new_page()
            sign_in(page, server, "Dana Karlsson")
            dana = Person(page, server)
            page.get_by_role("link", name="Ansökan om ekonomiskt bistånd").click()
            dana.wait_ready()
            kept = words("Före säkerhetskopian")
            client_sends(server, anna, "anna", CASE_DANA, kept)
            expect(dana.message(kept)).to_be_visible(timeout=20_000)
            samtal("backup", "--data-dir", str(server.data_dir), "--to", str(tmp_path / "backup.sqlite3"))
            lost = words("Efter säkerhetskopian")
            client_sends(server, anna, "anna", CASE_DANA, lost)
            expect(dana.message(lost)).to_be_visible(timeout=20_000)

            stop_server(server)
            samtal("restore", "--data-dir", str(server.data_dir), "--from", str(tmp_path / "backup.sqlite3"))
            server = start_server(tmp_path, port=port)
            new = [words(f"Efter återställningen {i}") for i in range(3)]
            for text in new:  # the first takes the seq that `lost` had on this page
                client_sends(server, anna, "anna", CASE_DANA, text)
            for text in new:
                expect(dana.message(text)).to_be_visible(timeout=40_000)
            expect(dana.message(kept)).to_be_visible()
            expect(dana.message(lost)).to_have_count(0)  # not in the restored database: no longer shown
            unexpected = [e for e in dana.errors if "ERR_CONNECTION_REFUSED" not in e]  # the server was down
            assert unexpected == [], unexpected
            context.close()
    finally:
        stop_server(server)
