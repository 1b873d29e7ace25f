"""Every page in a real browser: axe-core finds no accessibility violation (in Swedish and in English, on a
phone and on a desktop), the layout mirrors for a right-to-left language, and the main pages are
photographed (into a temporary folder; `python3 dev.py screenshots` refreshes the README's docs/screenshots/).

axe-core comes from npm (`python3 dev.py test` installs it into .cache/npm); it is injected into the page,
so these contexts bypass the page's Content-Security-Policy, which would rightly refuse it. The policy
itself is tested in test_browser_app.py and test_pages.py."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium
from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_browser_app import DESKTOP, PHONE, Person, client_sends, sign_in
from web.icon import png

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NPM_PREFIX = ROOT / ".cache" / "npm"
AXE = NPM_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
# Photographs go to a temporary folder, so that a test run never rewrites the tracked pictures;
# `python3 dev.py screenshots` sets SAMTAL_SCREENSHOTS to docs/screenshots to refresh the README's on purpose.
SCREENSHOTS = (Path(os.environ["SAMTAL_SCREENSHOTS"]) if os.environ.get("SAMTAL_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "samtal-screenshots")
server = server_fixture()


def axe_source() -> str:
    if not AXE.exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(NPM_PREFIX),
                        "axe-core@4"], check=False, capture_output=True, timeout=300)
    if not AXE.exists():
        pytest.skip("axe-core is not installed (python3 dev.py test installs it with npm)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def new_person(browser: Any, server: RunningServer, options: dict[str, Any], lang: str = "sv") -> Person:
    context = browser.new_context(bypass_csp=True, locale="sv-SE" if lang == "sv" else "en-GB", **options)
    context.add_init_script("window.__violations = [];")
    if lang != "sv":
        context.add_cookies([{"name": "lang", "value": lang, "url": server.url}])
    return Person(context.new_page(), server)


def check(person: Person, axe: str, screenshot: str | None = None) -> None:
    """axe-core on the page as it is now; no violation of any rule, whatever its impact."""
    page = person.page
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe)
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\\n` +
            v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.failureSummary}`).join("\\n"));
    }""")
    assert violations == [], f"{page.url}\n" + "\n".join(violations)
    assert person.errors == [], "\n".join(person.errors)
    if screenshot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"))


@pytest.fixture(scope="module")
def citizen(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = new_person(browser, server, PHONE)
    yield person
    person.page.context.close()


@pytest.fixture(scope="module")
def caseworker(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = new_person(browser, server, DESKTOP)
    yield person
    person.page.context.close()


def test_sign_in_page(citizen, axe):
    citizen.goto("/")
    expect(citizen.page.get_by_role("heading", level=1)).to_have_text("Logga in i Samtal")
    check(citizen, axe, "sign-in")


def test_citizen_pages(citizen, caseworker, axe, server):
    sign_in(citizen.page, server, "Dana Karlsson")
    expect(citizen.page.locator(".case-link")).to_have_count(1, timeout=10_000)
    check(citizen, axe)
    citizen.open_conversation(f"/cases/{CASE_DANA}")
    citizen.send("Hej! Jag har skickat in min ansökan. När kan jag få besked?")
    sign_in(caseworker.page, server, "Anna Lind")
    caseworker.open_conversation(f"/inbox/{CASE_DANA}")
    expect(caseworker.message("När kan jag få besked")).to_be_visible(timeout=10_000)
    caseworker.send("Hej Dana! Vi har fått din ansökan och du får besked senast på fredag.")
    expect(citizen.message("senast på fredag")).to_be_visible(timeout=10_000)
    expect(citizen.message("När kan jag få besked").locator(".state")).to_have_text("Läst", timeout=10_000)
    citizen.goto("/cases")
    expect(citizen.page.locator(".case-link")).to_contain_text("Senaste meddelande", timeout=10_000)
    check(citizen, axe, "citizen-cases")
    citizen.open_conversation(f"/cases/{CASE_DANA}")
    check(citizen, axe, "citizen-conversation")


def test_attachment_and_error_states(citizen, caseworker, axe):
    citizen.open_conversation(f"/cases/{CASE_DANA}")
    citizen.page.locator("#attachment-input").set_input_files(
        {"name": "kvitto.png", "mimeType": "image/png", "buffer": png(192)})
    citizen.send("Kvittot från apoteket")
    expect(citizen.message("Kvittot").locator("img")).to_be_visible(timeout=10_000)
    caseworker.page.locator("#attachment-input").set_input_files(
        {"name": "beslut.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"})
    caseworker.send("Här är beslutet")
    expect(citizen.page.get_by_role("button", name="Ladda ner beslut.pdf")).to_be_visible(timeout=10_000)
    citizen.page.locator("#attachment-input").set_input_files(
        {"name": "page.svg", "mimeType": "image/svg+xml", "buffer": b"<svg/>"})
    expect(citizen.page.locator("#composer-error")).to_contain_text("page.svg")
    check(citizen, axe)
    check(caseworker, axe)


def test_caseworker_inbox(caseworker, axe, server, tmp_path):
    client_sends(server, tmp_path, "erik", CASE_ERIK, "Hej, jag har fått ett nytt jobb. Ska jag meddela er?")
    caseworker.goto("/inbox")
    expect(caseworker.page.locator("#case-list .case-link")).to_have_count(2, timeout=10_000)
    expect(caseworker.page.locator(f"[data-case-id={CASE_ERIK}]")).to_contain_text("1 oläst")
    check(caseworker, axe)
    caseworker.page.locator(f"[data-case-id={CASE_DANA}]").click()
    caseworker.wait_ready()
    caseworker.page.locator(".citizen-devices summary").click()
    check(caseworker, axe)
    caseworker.page.locator(".citizen-devices summary").click()
    caseworker.page.locator("#message-text").focus()
    check(caseworker, axe, "caseworker-inbox")


def test_devices_page_and_its_dialog(citizen, axe):
    citizen.goto("/devices")
    expect(citizen.page.locator("#this-fingerprint")).not_to_be_empty(timeout=10_000)
    citizen.page.wait_for_function("document.querySelector('#this-qr').naturalWidth > 0")
    check(citizen, axe, "devices")


def test_every_page_in_english(browser, server, axe):
    person = new_person(browser, server, DESKTOP, lang="en")
    page = person.page
    person.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check(person, axe)
    sign_in(page, server, "Bo Ek")
    expect(page.locator("#case-list .case-link, #case-list .empty")).not_to_have_count(0, timeout=10_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    check(person, axe)
    person.open_conversation(f"/inbox/{CASE_DANA}")
    check(person, axe)
    person.goto("/devices")
    expect(page.locator("#this-fingerprint")).not_to_be_empty(timeout=10_000)
    check(person, axe)
    page.context.close()


@pytest.mark.parametrize(("lang", "options", "title"), [("sv", PHONE, "Vad som gick fel"),
                                                         ("en", DESKTOP, "What went wrong")],
                         ids=["sv-phone", "en-desktop"])
def test_the_pages_a_problems_type_names(browser, server, axe, lang, options, title):
    """The page a problem+json `type` points to (/problems/<code>) is read by whoever follows the link from an
    error: a person as well as a program, signed in or not. One template serves every code; two codes with
    explanations of different lengths, in Swedish on a phone and in English on a desktop."""
    person = new_person(browser, server, options, lang=lang)
    for code in ("invalid_field", "not_found"):
        person.goto(f"/problems/{code}")
        expect(person.page.locator("html")).to_have_attribute("lang", lang)
        expect(person.page.get_by_role("heading", level=1)).to_have_text(title)
        expect(person.page.get_by_role("heading", level=2)).to_have_text(code)
        check(person, axe)
    person.page.context.close()


def test_right_to_left_mirrors_the_layout(citizen):
    """The pages use logical properties: with dir=rtl the citizen's own messages move to the other side."""
    page = citizen.page
    citizen.open_conversation(f"/cases/{CASE_DANA}")
    own = citizen.page.locator("#messages .message.ours").first
    theirs = citizen.page.locator("#messages .message.theirs").first
    width = page.viewport_size["width"]
    assert own.bounding_box()["x"] + own.bounding_box()["width"] > width * 0.8
    page.evaluate("document.documentElement.dir = 'rtl'")
    assert own.bounding_box()["x"] < width * 0.2
    assert theirs.bounding_box()["x"] + theirs.bounding_box()["width"] > width * 0.8
    page.evaluate("document.documentElement.dir = 'ltr'")


TOUCH_TARGETS = """() => [...document.querySelectorAll("a, button, input, select, textarea, summary, label.button")]
  .filter((el) => el.offsetParent !== null && !el.closest("p:not(.attachment), li.device p, dd")
    && !el.classList.contains("visually-hidden") && !el.classList.contains("skip-link"))
  .map((el) => { const r = el.getBoundingClientRect();
    return [el.outerHTML.slice(0, 80), Math.round(r.width), Math.round(r.height)]; })
  .filter(([, w, h]) => w < 44 || h < 44)"""
COUNT_TARGETS = TOUCH_TARGETS.replace(".filter(([, w, h]) => w < 44 || h < 44)", ".length")


def test_touch_targets_skip_link_and_visible_focus(citizen):
    page = citizen.page
    citizen.open_conversation(f"/cases/{CASE_DANA}")
    assert page.evaluate(TOUCH_TARGETS) == []
    assert page.evaluate(COUNT_TARGETS) >= 8
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Hoppa till innehållet")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["y"] >= 0  # shown when focused
    assert skip.evaluate("el => getComputedStyle(el).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.locator("#send").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    send = page.locator("#send")
    expect(send).to_be_focused()
    assert send.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
    citizen.goto("/devices")
    expect(page.locator("#this-fingerprint")).not_to_be_empty(timeout=10_000)
    assert page.evaluate(TOUCH_TARGETS) == []
