"""The gallring page in a real browser (docs/retention.md): a supervisor reads the rules in force, sets and
lifts a legal hold on a case, and reads the deletion register, where a deletion by rule says it was
automated; the page passes axe-core in Swedish and English."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()


@pytest.fixture(scope="module")
def cecilia(browser: Any, server: RunningServer) -> Iterator[Any]:
    person = signed_in(browser, server, "Cecilia Berg", "/inbox")
    yield person
    person.page.context.close()


def test_a_supervisor_holds_a_case_and_reads_the_register(cecilia, server: RunningServer, axe) -> None:  # type: ignore[no-untyped-def]
    with server.db() as db:  # a deletion the job made earlier
        db.execute("INSERT INTO retention_register (at, unit_id, record_kind, rule, count, automated)"
                   " VALUES (?, 'ekonomiskt-bistand', 'message', 'default:message:5y', 3, 1)", (1_800_000_000_000,))
        db.commit()
    page = cecilia.page
    cecilia.goto("/retention?lang=sv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gallring")
    expect(page.locator(".mainnav li:visible a[aria-current=page]")).to_have_text("Gallring")
    rules = page.locator("#rule-rows tr")
    expect(rules).to_have_count(5, timeout=10_000)
    expect(rules.first).to_contain_text("5 år efter sista anteckningen")
    expect(rules.first).to_contain_text("lagen (socialtjänstlagen)")
    register = page.locator("#register-rows tr")
    expect(register).to_have_count(1)
    expect(register.first).to_contain_text("Automatiskt, enligt regel")
    expect(register.first).to_contain_text("lagen (socialtjänstlagen): 5 år")
    expect(page.locator("#hold-list")).to_contain_text("Inget ärende har gallringsstopp.")
    check(cecilia, axe)

    page.get_by_label("Ärende (ärendenummer)").fill(CASE_DANA)
    page.get_by_label("Skäl till stoppet").fill("Begäran från förvaltningsrätten")
    page.get_by_role("button", name="Sätt gallringsstopp").click()
    held = page.locator("#hold-list li")
    expect(held).to_contain_text(CASE_DANA, timeout=10_000)
    expect(held).to_contain_text("Begäran från förvaltningsrätten")
    check(cecilia, axe)

    page.context.add_cookies([{"name": "lang", "value": "en", "url": server.url}])
    cecilia.goto("/retention")
    expect(page.get_by_role("heading", level=1)).to_have_text("Retention and deletion")
    expect(page.locator("#register-rows tr").first).to_contain_text("Automated, by rule", timeout=10_000)
    check(cecilia, axe)
    page.context.add_cookies([{"name": "lang", "value": "sv", "url": server.url}])

    cecilia.goto("/retention?lang=sv")
    page.get_by_label("Slags uppgift").select_option(label="Journalanteckningar och synpunkter")
    page.get_by_label("Sparas").select_option(label="Gallras aldrig")
    page.get_by_role("button", name="Spara verksamhetens regel").click()
    journal = page.locator("#rule-rows tr", has_text="Journalanteckningar")
    expect(journal).to_contain_text("Gallras aldrig", timeout=10_000)
    expect(journal).to_contain_text("verksamheten")
    page.get_by_role("button", name="Häv gallringsstoppet").click()
    expect(page.locator("#hold-list")).to_contain_text("Inget ärende har gallringsstopp.", timeout=10_000)
